import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { hashPassword } from '../../src/auth/server/passwords.ts';
import { createLocalhostCertificate, type LocalhostCertificate } from '../helpers/certificates.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import { freeLoopbackPort } from '../helpers/nginx.ts';
import type { Credentials } from '../helpers/oauth-login.ts';
import { startServer } from '../helpers/server-process.ts';
import { tokensFor } from '../helpers/sse.ts';

/**
 * `auth.storage: rediss://…`: the OAuth state in a Redis reached over TLS, with its certificate
 * verified. A real redis-server on loopback speaking only TLS, with a self-signed certificate: a
 * sqlbridge that trusts it (NODE_EXTRA_CA_CERTS, how Node trusts a private CA) signs a user in and
 * serves with its state there; one that does not trust it, and one told `redis://` (clear text),
 * refuse to start, naming the setting.
 */

const ALICE: Credentials = { username: 'alice', password: 'alice-correct-horse-battery' };
let redis: ChildProcess;
let port: number;
let certificate: LocalhostCertificate;
let config: string;

beforeAll(async () => {
  const dir = emptyDir('redis-tls-');
  certificate = createLocalhostCertificate(dir);
  port = await freeLoopbackPort();
  redis = spawn(
    'redis-server',
    [
      '--port',
      '0',
      '--bind',
      '127.0.0.1',
      '--tls-port',
      String(port),
      '--tls-cert-file',
      certificate.certificatePath,
      '--tls-key-file',
      certificate.keyPath,
      '--tls-auth-clients',
      'no',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir
    ],
    { stdio: 'ignore' }
  );
  // Ready when it completes a TLS handshake.
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>(resolve => {
      const socket = connect({ host: '127.0.0.1', port, ca: certificate.pem, servername: 'localhost' }, () => {
        socket.end();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > deadline) throw new Error('redis-server with TLS did not start');
    await new Promise(resolve => setTimeout(resolve, 100));
  }
  config = join(dir, 'sqlbridge.yaml');
  writeFileSync(
    config,
    [
      'auth:',
      '  users:',
      `    - { username: alice, passwordHash: "${await hashPassword(ALICE.password)}", environments: ["*"] }`,
      ''
    ].join('\n')
  );
}, 30_000);

afterAll(async () => {
  if (redis.exitCode === null && redis.signalCode === null) {
    redis.kill('SIGTERM');
    await once(redis, 'exit');
  }
});

const serverEnv = (storage: string, trust: boolean): Record<string, string> => ({
  SQLBRIDGE_SQLITE_PATH: join(emptyDir('redis-tls-db-'), 'db.sqlite'),
  SQLBRIDGE_AUTH_STORAGE: storage,
  ...(trust ? { NODE_EXTRA_CA_CERTS: certificate.certificatePath } : {})
});

it('keeps the OAuth state in a Redis reached over verified TLS', async () => {
  const dir = emptyDir('redis-tls-server-');
  const server = await startServer({
    args: ['serve', '--config', config, '--data-dir', dir],
    env: serverEnv(`rediss://localhost:${String(port)}/0?prefix=tls-e2e`, true)
  });
  try {
    const tokens = await tokensFor(`${server.baseUrl}/default/mcp`, ALICE);
    const response = await fetch(`${server.baseUrl}/default/mcp`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${tokens.access_token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2025-11-25'
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' })
    });
    await response.body?.cancel();
    expect(response.status).toBe(200);
    const ready = await fetch(`${server.baseUrl}/readyz`);
    expect(((await ready.json()) as { auth?: { storage?: string } }).auth?.storage).toBe('ok');
  } finally {
    await server.stop();
  }
}, 60_000);

it('refuses to start when the Redis certificate is not trusted, or when told to speak clear text to it', async () => {
  const untrusted = startServer({
    args: ['serve', '--config', config, '--data-dir', emptyDir('redis-tls-untrusted-')],
    env: serverEnv(`rediss://localhost:${String(port)}/0?prefix=tls-e2e`, false)
  });
  await expect(untrusted).rejects.toThrow(
    /auth\.storage: Redis at rediss:\/\/localhost:\d+\/0 cannot be reached: .*certificate/i
  );
  const clear = startServer({
    args: ['serve', '--config', config, '--data-dir', emptyDir('redis-tls-clear-')],
    env: serverEnv(`redis://localhost:${String(port)}/0?prefix=tls-e2e`, true)
  });
  await expect(clear).rejects.toThrow(/auth\.storage: Redis at redis:\/\/localhost:\d+\/0 cannot be reached/);
}, 60_000);
