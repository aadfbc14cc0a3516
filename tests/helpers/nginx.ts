import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IncomingHttpHeaders } from 'node:http';
import { expect } from 'vitest';
import type { NginxSiteOptions } from '../../deploy/nginx/render.ts';
import { createLocalhostCertificate, type LocalhostCertificate } from './certificates.ts';
import { emptyDir } from './data-dir.ts';

/** The machine's nginx, run on loopback ports for a site file rendered by deploy/nginx/render.ts. */

export const NGINX = '/usr/sbin/nginx';
const SNIPPETS = fileURLToPath(new URL('../../deploy/nginx/snippets', import.meta.url));

/** The headers nginx adds to every answer, each exactly once (Node joins a repeated header's values with ", "). */
export function expectNginxSecurityHeaders(headers: IncomingHttpHeaders): void {
  expect(headers).toMatchObject({
    'strict-transport-security': 'max-age=31536000; includeSubDomains',
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff'
  });
}

/** A directory for one nginx: its certificate, its ports, and the site options that point at them. */
export interface NginxSandbox {
  dir: string;
  certificate: LocalhostCertificate;
  httpsPort: number;
  httpPort: number;
  /** The loopback part of the site options: listen address and ports, certificate, logs, ACME webroot. */
  siteOptions: Pick<NginxSiteOptions, 'listen' | 'certificate' | 'certificateKey' | 'accessLog' | 'acmeWebroot'>;
}

export async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

export async function createNginxSandbox(): Promise<NginxSandbox> {
  const dir = emptyDir('nginx-');
  const certificate = createLocalhostCertificate(dir);
  const httpsPort = await freeLoopbackPort();
  const httpPort = await freeLoopbackPort();
  mkdirSync(join(dir, 'acme'));
  return {
    dir,
    certificate,
    httpsPort,
    httpPort,
    siteOptions: {
      listen: { address: '127.0.0.1', httpsPort, httpPort },
      certificate: certificate.certificatePath,
      certificateKey: certificate.keyPath,
      accessLog: join(dir, 'access.log'),
      acmeWebroot: join(dir, 'acme')
    }
  };
}

/** Writes the site and a main nginx.conf that includes it inside http {}, as Debian's nginx.conf does conf.d. */
function writeMainConfig(sandbox: NginxSandbox, site: string): string {
  const { dir } = sandbox;
  writeFileSync(join(dir, 'site.conf'), site);
  // The site's `include snippets/…` is relative to the main file's directory, /etc/nginx in production.
  if (!existsSync(join(dir, 'snippets'))) symlinkSync(SNIPPETS, join(dir, 'snippets'));
  const temp = join(dir, 'temp');
  mkdirSync(temp, { recursive: true });
  const main = join(dir, 'nginx.conf');
  const config = [
    'daemon off;',
    'worker_processes 1;',
    `pid ${join(dir, 'nginx.pid')};`,
    `error_log ${join(dir, 'error.log')} warn;`,
    // As root, workers would otherwise run as nobody, who cannot read the test's files.
    process.getuid?.() === 0 ? 'user root;' : '',
    'events { worker_connections 256; }',
    'http {',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(kind => `  ${kind}_temp_path ${join(temp, kind)};`),
    `  include ${join(dir, 'site.conf')};`,
    '}'
  ];
  writeFileSync(main, `${config.join('\n')}\n`);
  return main;
}

/** `nginx -t` on the site: whether nginx accepts it, and what it said. */
export function checkNginxSite(sandbox: NginxSandbox, site: string): { ok: boolean; output: string } {
  const main = writeMainConfig(sandbox, site);
  const result = spawnSync(NGINX, ['-t', '-p', sandbox.dir, '-c', main], { encoding: 'utf8', timeout: 15_000 });
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
}

export interface RunningNginx {
  accessLog(): string;
  stop(): Promise<void>;
}

function readIfExists(dir: string, file: string): string {
  return existsSync(join(dir, file)) ? readFileSync(join(dir, file), 'utf8') : '';
}

function acceptsConnections(port: number): Promise<boolean> {
  return new Promise(resolve => {
    const socket = connect(port, '127.0.0.1');
    socket.setTimeout(500, () => socket.destroy());
    socket.once('connect', () => {
      resolve(true);
      socket.destroy();
    });
    socket.on('error', () => undefined);
    socket.once('close', () => resolve(false));
  });
}

/** Starts nginx on the site and waits until its TLS port accepts; fails with nginx's own words if it refuses. */
export async function startNginx(sandbox: NginxSandbox, site: string, timeoutMs = 10_000): Promise<RunningNginx> {
  const main = writeMainConfig(sandbox, site);
  const child = spawn(NGINX, ['-p', sandbox.dir, '-c', main], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const deadline = Date.now() + timeoutMs;
  // nginx writes its pid file once its sockets are bound: the port then answers for this nginx, not another process.
  const started = async () =>
    existsSync(join(sandbox.dir, 'nginx.pid')) && (await acceptsConnections(sandbox.httpsPort));
  while (!(await started())) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(
        `nginx did not start (exit ${String(child.exitCode)}):\n${output}${readIfExists(sandbox.dir, 'error.log')}`
      );
    }
    await new Promise(resolve => setTimeout(resolve, 50));
  }
  return {
    accessLog: () => readIfExists(sandbox.dir, 'access.log'),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      // SIGTERM is nginx's fast shutdown: open event streams do not hold it up as a graceful stop (SIGQUIT) would.
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
  };
}

/** nginx running a site rendered by `render(sandbox site options)`, and the https target clients reach it at. */
export interface NginxInFront {
  sandbox: NginxSandbox;
  nginx: RunningNginx;
  target: { port: number; ca: string };
}

/** Renders the site for a fresh loopback sandbox and starts nginx on it. */
export async function nginxInFront(
  render: (siteOptions: NginxSandbox['siteOptions']) => string
): Promise<NginxInFront> {
  const sandbox = await createNginxSandbox();
  const nginx = await startNginx(sandbox, render(sandbox.siteOptions));
  return { sandbox, nginx, target: { port: sandbox.httpsPort, ca: sandbox.certificate.pem } };
}
