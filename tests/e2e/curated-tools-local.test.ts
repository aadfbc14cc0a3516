import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyDir } from '../helpers/data-dir.ts';
import { callTool, connectWithoutAuth, disconnect } from '../helpers/mcp-connect.ts';
import { runCli, startServer, type RunningServer } from '../helpers/server-process.ts';

/**
 * Curated tools on a server without sign-in (SQLite): a tool that could never run stops the start,
 * a tool that writes commits in a read-write environment, and group tools stay hidden from callers
 * who belong to no group. The signed-in cases, on every engine, are in curated-tools.test.ts.
 */

const CREATE = 'CREATE TABLE orders (id INTEGER PRIMARY KEY, region TEXT NOT NULL, status TEXT NOT NULL)';
const ROWS = "(1, 'eu', 'open'), (2, 'eu', 'shipped'), (3, 'us', 'open')";

describe('a curated tool that could never run', () => {
  it('stops the server from starting, with exit code 2 and the setting named', async () => {
    const dir = emptyDir('curated-broken-');
    const db = new DatabaseSync(join(dir, 'shop.sqlite'));
    db.exec(`${CREATE}; INSERT INTO orders VALUES ${ROWS};`);
    db.close();
    const config = join(dir, 'sqlbridge.yaml');
    writeFileSync(
      config,
      [
        'environments:',
        '  lite:',
        `    database: { engine: sqlite, path: ${JSON.stringify(join(dir, 'shop.sqlite'))} }`,
        '    tools:',
        '      broken: { description: d, sql: "SELECT id FROM orders WHERE region = :regoin" }',
        ''
      ].join('\n')
    );
    const message =
      "environments.lite.tools.broken.sql: the SQL uses :regoin, which is not among the tool's parameters";
    const result = await runCli(['serve', '--config', config, '--data-dir', dir, '--no-auth', '--port', '0']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    // sqlbridge check says the same, before anything is served.
    const check = await runCli(['check', '--config', config, '--data-dir', dir]);
    expect(check.code).toBe(2);
    expect(check.stderr).toContain(message);
  });
});

describe('without sign-in, in a read-write environment', () => {
  let local: RunningServer | undefined;
  let client: Client;
  let path = '';

  beforeAll(async () => {
    const dir = emptyDir('curated-rw-');
    path = join(dir, 'rw.sqlite');
    const db = new DatabaseSync(path);
    db.exec(`${CREATE}; INSERT INTO orders VALUES ${ROWS};`);
    db.close();
    const config = join(dir, 'sqlbridge.yaml');
    writeFileSync(
      config,
      [
        'environments:',
        '  rw:',
        `    database: { engine: sqlite, path: ${JSON.stringify(path)} }`,
        '    readOnly: false',
        '    tools:',
        '      ship_order:',
        '        description: Marks an order shipped.',
        '        sql: "UPDATE orders SET status = \'shipped\' WHERE id = :id AND :confirm"',
        '        readOnly: false',
        '        parameters:',
        '          id: { type: integer, description: The order id }',
        '          confirm: { type: boolean, description: Really ship it }',
        '      finance_only:',
        '        description: Nothing for callers without groups.',
        '        sql: "SELECT 1 AS one"',
        '        groups: [finance]',
        ''
      ].join('\n')
    );
    local = await startServer({ args: ['serve', '--config', config, '--data-dir', dir, '--no-auth'] });
    client = await connectWithoutAuth(local.baseUrl, 'rw');
  }, 60_000);

  afterAll(async () => {
    await disconnect(client);
    await local?.stop();
  });

  it('commits a writing tool, binding a boolean, and hides group tools from callers without groups', async () => {
    const names = (await client.listTools()).tools.map(tool => tool.name);
    expect(names).toContain('ship_order');
    expect(names).toContain('execute_write_sql');
    expect(names).not.toContain('finance_only');
    // Not registered for this caller: the SDK answers as for a tool that does not exist.
    await expect(client.callTool({ name: 'finance_only', arguments: {} })).rejects.toThrow(/finance_only/);

    const kept = await callTool(client, 'ship_order', { id: 3, confirm: false });
    expect(kept.isError, kept.text).toBe(false);
    expect(kept.text).toMatch(/^Committed: 0 rows changed/);
    const shipped = await callTool(client, 'ship_order', { id: 3, confirm: true });
    expect(shipped.text).toMatch(/^Committed: 1 row changed/);
    const db = new DatabaseSync(path, { readOnly: true });
    try {
      expect(db.prepare('SELECT status FROM orders WHERE id = 3').get()?.['status']).toBe('shipped');
    } finally {
      db.close();
    }
  });
});
