import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { emptyDir } from '../helpers/data-dir.ts';
import { callTool, connectWithoutAuth, disconnect } from '../helpers/mcp-connect.ts';
import { startServer, type RunningServer } from '../helpers/server-process.ts';

/**
 * A catalog of thousands of tables: list_tables stops at the result's character budget
 * (limits.maxResultChars), as a query's rows do, says so in both forms of its answer, and keeps
 * the number of tables that matched; a small catalog is listed whole.
 */

const TABLES = 3000;
const BUDGET = 20_000;

interface Listed {
  tables: { name: string }[];
  count: number;
  truncated: boolean;
}

let server: RunningServer;
let client: Client;

beforeAll(async () => {
  const dir = emptyDir('list-tables-budget-');
  const path = join(dir, 'many.sqlite');
  const db = new DatabaseSync(path);
  db.exec('BEGIN');
  for (let i = 0; i < TABLES; i++) db.exec(`CREATE TABLE table_number_${String(i).padStart(4, '0')} (id integer)`);
  db.exec('COMMIT');
  db.close();
  const small = join(dir, 'small.sqlite');
  const other = new DatabaseSync(small);
  other.exec('CREATE TABLE a (id integer); CREATE TABLE b (id integer)');
  other.close();
  const config = join(dir, 'sqlbridge.yaml');
  writeFileSync(
    config,
    [
      'environments:',
      '  many:',
      `    database: { engine: sqlite, path: ${JSON.stringify(path)} }`,
      `    limits: { maxResultChars: ${String(BUDGET)} }`,
      '  small:',
      `    database: { engine: sqlite, path: ${JSON.stringify(small)} }`,
      ''
    ].join('\n')
  );
  server = await startServer({ args: ['serve', '--no-auth', '--config', config, '--data-dir', dir] });
  client = await connectWithoutAuth(server.baseUrl, 'many');
}, 60_000);

afterAll(async () => {
  await disconnect(client);
  await server.stop();
});

it('lists the tables that fit the budget, in order, and says how many there are and how to see the rest', async () => {
  const answer = await callTool(client, 'list_tables');
  expect(answer.isError).toBe(false);
  const listed = answer.structured as Listed;
  expect(listed.count).toBe(TABLES);
  expect(listed.truncated).toBe(true);
  expect(listed.tables.length).toBeGreaterThan(100);
  expect(listed.tables.length).toBeLessThan(TABLES);
  expect(listed.tables.map(table => table.name)).toEqual(
    Array.from({ length: listed.tables.length }, (_, i) => `table_number_${String(i).padStart(4, '0')}`)
  );
  expect(answer.text.length).toBeLessThan(BUDGET + 1000);
  expect(answer.text).toContain(
    `Showing the first ${listed.tables.length.toLocaleString('en-US')} of 3,000 (the result's character budget, limits.maxResultChars)`
  );
  expect(answer.text).toContain(`table_number_${String(listed.tables.length - 1).padStart(4, '0')}`);
  expect(answer.text).not.toContain(`table_number_${String(listed.tables.length).padStart(4, '0')}`);
});

it('lists a small catalog whole', async () => {
  const small = await connectWithoutAuth(server.baseUrl, 'small');
  try {
    const answer = await callTool(small, 'list_tables');
    expect(answer.structured).toMatchObject({ count: 2, truncated: false, tables: [{ name: 'a' }, { name: 'b' }] });
    expect(answer.text).not.toContain('Showing the first');
  } finally {
    await disconnect(small);
  }
});
