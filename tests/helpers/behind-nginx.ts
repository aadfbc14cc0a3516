import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashPassword } from '../../src/auth/server/passwords.ts';
import { renderNginxSite, type NginxLayout } from '../../deploy/nginx/render.ts';
import { postgresDatabaseYaml } from '../dialects/engines/postgres.ts';
import { demoDataDir, emptyDir } from './data-dir.ts';
import { createNginxSandbox, startNginx, type RunningNginx } from './nginx.ts';
import type { Credentials } from './oauth-login.ts';
import { startServer, type RunningServer } from './server-process.ts';

/**
 * sqlbridge deployed behind a real nginx, as the original guide deploys it: https on loopback with a
 * self-signed certificate, the shipped site file rendered for loopback ports, and either one sqlbridge
 * for every environment (`shared`) or one per environment with nginx stripping the prefix and sending
 * X-Environment-Path (`per-environment`). Environments: `demo` (the embedded demo database) and
 * `production` (a PostgreSQL database, read-only).
 */

export const ALICE: Credentials = { username: 'alice', password: 'alice-correct-horse-battery' };

export interface Deployment {
  /** https://localhost:<nginx port>: the only URL clients use. */
  publicOrigin: string;
  /** The certificate clients must trust. */
  ca: string;
  nginx: RunningNginx;
  servers: RunningServer[];
  stop(): Promise<void>;
}

/** Event streams send a keep-alive comment this often, so a test sees several in a short time. */
export const KEEP_ALIVE_MS = 1500;

async function configFile(dir: string, environments: Record<string, string>, publicOrigin: string): Promise<string> {
  const path = join(dir, 'sqlbridge.yaml');
  const names = Object.keys(environments);
  writeFileSync(
    path,
    [
      'server:',
      `  publicUrl: ${publicOrigin}`,
      '  trustProxy: ["127.0.0.1"]',
      `  keepAliveMs: ${KEEP_ALIVE_MS}`,
      'environments:',
      ...Object.entries(environments).map(([name, database]) => `  ${name}:\n    database: ${database}`),
      'auth:',
      '  storage: memory',
      '  users:',
      `    - { username: alice, passwordHash: "${await hashPassword(ALICE.password)}", environments: [${names.join(', ')}] }`,
      ''
    ].join('\n')
  );
  return path;
}

export async function deployBehindNginx(layout: NginxLayout, productionDatabase: string): Promise<Deployment> {
  const sandbox = await createNginxSandbox();
  const publicOrigin = `https://localhost:${sandbox.httpsPort}`;
  const databases: Record<string, string> = {
    demo: '{ engine: demo, liveFeed: false }',
    production: postgresDatabaseYaml(productionDatabase, ', pool: { max: 4 }')
  };
  const start = async (environments: Record<string, string>): Promise<RunningServer> => {
    const dir = 'demo' in environments ? demoDataDir() : emptyDir('nginx-e2e-');
    const config = await configFile(dir, environments, publicOrigin);
    return startServer({ args: ['serve', '--config', config, '--data-dir', dir] });
  };
  const servers: RunningServer[] = [];
  try {
    let upstreams: string | Record<string, string>;
    if (layout === 'shared') {
      const server = await start(databases);
      servers.push(server);
      upstreams = new URL(server.baseUrl).host;
    } else {
      upstreams = {};
      for (const [name, database] of Object.entries(databases)) {
        const server = await start({ [name]: database });
        servers.push(server);
        upstreams[name] = new URL(server.baseUrl).host;
      }
    }
    const site = renderNginxSite({
      layout,
      serverName: 'localhost',
      environments: Object.keys(databases),
      upstreams,
      ...sandbox.siteOptions,
      listen: { ...sandbox.siteOptions.listen, httpPort: null }
    });
    const nginx = await startNginx(sandbox, site);
    return {
      publicOrigin,
      ca: sandbox.certificate.pem,
      nginx,
      servers,
      async stop() {
        await nginx.stop();
        await Promise.all(servers.map(server => server.stop()));
      }
    };
  } catch (error) {
    await Promise.all(servers.map(server => server.stop()));
    throw error;
  }
}
