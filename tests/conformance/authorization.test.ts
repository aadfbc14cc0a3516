import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/auth/server/passwords.ts';
import { demoDataDir, emptyDir } from '../helpers/data-dir.ts';
import { signIn } from '../helpers/oauth-login.ts';
import { startServer, type RunningServer } from '../helpers/server-process.ts';

/**
 * The pinned conformance suite's `authorization` scenarios against the demo issuer: the
 * authorization-server metadata (RFC 8414, S256, CIMD support) and an authorization code grant with
 * a pre-registered client, whose sign-in this test performs as the user would.
 */

const CONFORMANCE_CLI = fileURLToPath(
  new URL('../../node_modules/@modelcontextprotocol/conformance/dist/index.js', import.meta.url)
);

interface Check {
  id: string;
  status: 'SUCCESS' | 'FAILURE' | 'WARNING' | 'SKIPPED' | 'INFO';
  errorMessage?: string;
}

const USER = { username: 'conformance', password: 'conformance-password-1234' };

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>(resolve => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  await new Promise<void>(resolve => probe.close(() => resolve()));
  return typeof address === 'object' && address !== null ? address.port : 0;
}

/** GETs the suite's callback, which starts listening about when it prints the URL. */
async function deliver(callback: URL): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      const response = await fetch(callback);
      await response.body?.cancel();
      return;
    } catch {
      await new Promise(resolve => setTimeout(resolve, 100));
    }
  }
  throw new Error(`the conformance callback at ${callback.origin} never answered`);
}

describe('MCP conformance suite: authorization server', () => {
  let server: RunningServer;
  const checks: Check[] = [];

  beforeAll(async () => {
    const dir = emptyDir('conformance-auth-');
    const callbackPort = await freePort();
    const config = join(dir, 'sqlbridge.yaml');
    writeFileSync(
      config,
      [
        `dataDir: ${demoDataDir()}`,
        'environments:',
        '  demo:',
        '    database: { engine: demo, liveFeed: false }',
        'auth:',
        '  storage: memory',
        '  users:',
        `    - { username: ${USER.username}, passwordHash: "${await hashPassword(USER.password)}", environments: [demo] }`,
        '  clients:',
        `    - { clientId: sqlbridge-conformance, name: MCP conformance, redirectUris: ["http://127.0.0.1:${callbackPort}/callback"] }`,
        ''
      ].join('\n')
    );
    server = await startServer({ args: ['serve', '--config', config] });
    const output = emptyDir('conformance-auth-out-');
    const child = spawn(
      process.execPath,
      [
        CONFORMANCE_CLI,
        'authorization',
        '--url',
        `${server.baseUrl}/demo`,
        '--client-id',
        'sqlbridge-conformance',
        '--resource',
        `${server.baseUrl}/demo/mcp`,
        '-p',
        String(callbackPort),
        '-o',
        output
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] }
    );
    let printed = '';
    const signedIn: Promise<void>[] = [];
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      printed += chunk;
      const url = /(http:\/\/\S+\/demo\/authorize\?\S+)/.exec(printed)?.[1];
      if (url === undefined) return;
      printed = '';
      signedIn.push(signIn(url, USER).then(deliver));
    });
    await once(child, 'exit');
    await Promise.all(signedIn);
    for (const entry of readdirSync(output)) {
      checks.push(...(JSON.parse(readFileSync(join(output, entry, 'checks.json'), 'utf8')) as Check[]));
    }
  }, 120_000);

  afterAll(async () => {
    await server.stop();
  });

  it.each(['authorization-server-metadata', 'authorization-server-metadata-cimd', 'authorization-code-grant'])(
    'passes %s',
    id => {
      const check = checks.find(c => c.id === id);
      expect(check, `no result for ${id}: ${JSON.stringify(checks)}`).toBeDefined();
      expect(check?.status, check?.errorMessage).toBe('SUCCESS');
    }
  );
});
