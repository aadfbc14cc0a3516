import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toolsListBody } from '../../bench/mcp-messages.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import { startServer, type RunningServer } from '../helpers/server-process.ts';
import { createSqliteFixture } from '../helpers/sqlite-fixture.ts';

/**
 * A server loads only the libraries its configuration uses: one that serves SQLite without OAuth
 * never loads the authorization server (oidc-provider, openid-client, jose), the engine clients of
 * other databases (tedious, mysql2, pg), ioredis, prom-client (metrics are off) or Fastify's Ajv
 * schema compiler (no route declares a JSON schema). Each costs start-up time and resident memory. The
 * process records every package it resolves through a module hook (`module.registerHooks`, for
 * both import and require).
 */

const HOOK = `
import { registerHooks } from 'node:module';
import { appendFileSync } from 'node:fs';
const log = process.env.SQLBRIDGE_TEST_MODULE_LOG;
registerHooks({
  resolve(specifier, context, next) {
    if (!/^(\\.|\\/|node:|file:|data:)/.test(specifier)) appendFileSync(log, specifier + '\\n');
    return next(specifier, context);
  }
});
`;

let server: RunningServer;
let logFile: string;

beforeAll(async () => {
  const dir = emptyDir('modules-');
  const hook = join(dir, 'record-packages.mjs');
  writeFileSync(hook, HOOK);
  logFile = join(dir, 'packages.txt');
  writeFileSync(logFile, '');
  const config = join(dir, 'sqlbridge.yaml');
  writeFileSync(
    config,
    [
      `dataDir: ${JSON.stringify(join(dir, 'data'))}`,
      'server: { host: 127.0.0.1 }',
      'auth: { enabled: false }',
      'environments:',
      `  lite: { database: { engine: sqlite, path: ${JSON.stringify(createSqliteFixture())} } }`,
      ''
    ].join('\n')
  );
  server = await startServer({
    args: ['serve', '--config', config],
    env: { NODE_OPTIONS: `--import=${hook}`, SQLBRIDGE_TEST_MODULE_LOG: logFile }
  });
}, 60_000);

afterAll(async () => {
  await server.stop();
});

/** The packages the server resolved (a scoped package by its scope and name). */
function packages(): Set<string> {
  const specifiers = readFileSync(logFile, 'utf8').split('\n').filter(Boolean);
  return new Set(
    specifiers.map(specifier =>
      specifier
        .split('/')
        .slice(0, specifier.startsWith('@') ? 2 : 1)
        .join('/')
    )
  );
}

describe('a SQLite server without OAuth', () => {
  it('answers a tools/list with what it loaded', async () => {
    const response = await fetch(`${server.baseUrl}/lite/mcp`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2026-07-28',
        'mcp-method': 'tools/list'
      },
      body: toolsListBody(1)
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('execute_sql');
    // The hook records what the server resolves: the libraries it does use are there.
    expect([...packages()]).toEqual(expect.arrayContaining(['fastify', '@modelcontextprotocol/server', 'zod']));
  });

  it.each([
    'oidc-provider',
    'openid-client',
    'jose',
    'tedious',
    'mssql',
    'mysql2',
    'pg',
    'ioredis',
    'prom-client',
    '@fastify/ajv-compiler',
    'ajv'
  ])('never loads %s', name => {
    expect(packages().has(name)).toBe(false);
  });
});
