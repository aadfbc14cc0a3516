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
  // Names the text and the JSON both write escaped: a control character takes 6 characters in each.
  const escaped = join(dir, 'escaped.sqlite');
  const odd = new DatabaseSync(escaped);
  odd.exec('BEGIN');
  for (let i = 0; i < 400; i++)
    odd.exec(`CREATE TABLE "${'\u0001'.repeat(50)}${String(i).padStart(4, '0')}" (id integer)`);
  odd.exec('COMMIT');
  odd.close();
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
      '  escaped:',
      `    database: { engine: sqlite, path: ${JSON.stringify(escaped)} }`,
      `    limits: { maxResultChars: ${String(BUDGET)} }`,
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

it('weighs names as they are written: escaped characters count as what they take, in the text and the JSON', async () => {
  const escaped = await connectWithoutAuth(server.baseUrl, 'escaped');
  try {
    const answer = await callTool(escaped, 'list_tables');
    const listed = answer.structured as Listed;
    expect(listed.truncated).toBe(true);
    expect(listed.tables.length).toBeGreaterThan(10);
    expect(answer.text.length).toBeLessThan(BUDGET + 1000);
    // The structured copy also names each field of each table: near the budget, not a multiple of it.
    expect(JSON.stringify(listed.tables).length).toBeLessThan(BUDGET * 1.25);
  } finally {
    await disconnect(escaped);
  }
});
