import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/auth/server/passwords.ts';
import { createMysqlDatabases, mysqlAdmin, MYSQL } from '../dialects/engines/mysql.ts';
import { createPostgresDatabase, pgAdmin, POSTGRES } from '../dialects/engines/postgres.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import { callTool, connectWithOAuth, disconnect, mcpUrl } from '../helpers/mcp-connect.ts';
import { signIn, TestOAuthProvider, type Credentials } from '../helpers/oauth-login.ts';
import { startServer, type RunningServer } from '../helpers/server-process.ts';

/**
 * Curated tools through the real server, the real OAuth flow and the official MCP client: the same
 * tools configured on PostgreSQL, MariaDB and SQLite are listed with their JSON Schemas, return the
 * rows their parameters select, refuse bad arguments naming the parameter, keep injection attempts as
 * data, and are shown and run only for the groups they are configured for; `executeSql` takes the
 * free-SQL tool away from everyone (SQLite) or from everyone outside a group (PostgreSQL, MariaDB).
 */

const ANA: Credentials = { username: 'ana', password: 'ana-correct-horse-battery' };
const BEN: Credentials = { username: 'ben', password: 'ben-correct-horse-battery' };

const ORDERS: [number, string, string, string, string][] = [
  [1, 'eu', 'open', '120.50', '2026-01-15'],
  [2, 'eu', 'shipped', '80.00', '2026-02-01'],
  [3, 'us', 'open', '310.00', '2026-02-20'],
  [4, 'us', 'open', '15.25', '2026-03-05'],
  [5, 'asia', 'shipped', '999.99', '2026-03-31']
];
const ROWS = ORDERS.map(
  ([id, region, status, total, placed]) => `(${id}, '${region}', '${status}', ${total}, '${placed}')`
).join(', ');
const CREATE =
  'CREATE TABLE orders (id INTEGER PRIMARY KEY, region VARCHAR(20) NOT NULL, status VARCHAR(20) NOT NULL, total DECIMAL(10,2) NOT NULL, placed DATE NOT NULL)';

/** The tools every environment offers (the YAML under `tools:`). */
const TOOLS = [
  '    tools:',
  '      orders_by_region:',
  '        title: Orders of a region',
  '        description: Orders of one region at or above a total, largest first.',
  '        sql: "SELECT id, status FROM orders WHERE region = :region AND total >= :min_total ORDER BY total DESC LIMIT :max"',
  '        parameters:',
  '          region: { type: string, description: The region code, maxLength: 40 }',
  '          min_total: { type: number, description: Smallest total, minimum: 0, default: 0 }',
  '          max: { type: integer, description: How many orders, minimum: 1, maximum: 3, default: 3 }',
  '      orders_with_status:',
  '        description: Order ids with a status.',
  '        sql: "SELECT id FROM orders WHERE status = @status ORDER BY id"',
  '        parameters:',
  '          status: { type: string, description: Order status, enum: [open, shipped] }',
  '      order_by_id:',
  '        description: One order by its id.',
  '        sql: "SELECT id, region FROM orders WHERE id = :id"',
  '        parameters:',
  '          id: { type: integer, description: The order id }',
  '      orders_between:',
  '        description: Order ids placed within a range of days, optionally only open ones.',
  '        sql: "SELECT id FROM orders WHERE placed >= :from_day AND placed <= :to_day AND (:open_only = FALSE OR status = \'open\') ORDER BY id"',
  '        parameters:',
  '          from_day: { type: date, description: First day }',
  '          to_day: { type: date, description: Last day }',
  '          open_only: { type: boolean, description: Only open orders, default: false }',
  '      totals_by_region:',
  '        description: Revenue per region, for finance.',
  '        sql: "SELECT region, COUNT(*) AS orders FROM orders WHERE status <> \'x:y\' GROUP BY region ORDER BY region"',
  '        groups: [finance]',
  '        maxRows: 2'
];

let server: RunningServer | undefined;
let dropPostgres: (() => Promise<void>) | undefined;
let dropMaria: (() => Promise<void>) | undefined;
let postgresName = '';
let mariaName = '';
let sqlitePath = '';
const clients: Client[] = [];

beforeAll(async () => {
  const dir = emptyDir('curated-');
  const postgres = await createPostgresDatabase(
    [
      CREATE,
      `INSERT INTO orders VALUES ${ROWS}`,
      `CREATE FUNCTION orders_in(wanted text) RETURNS TABLE (id integer, total numeric) LANGUAGE sql STABLE AS $$ SELECT id, total FROM orders WHERE region = wanted ORDER BY id $$`,
      // A function that writes: a read-only environment's transaction must stop it, whatever the guard saw.
      `CREATE FUNCTION touch_order(wanted integer) RETURNS integer LANGUAGE sql VOLATILE AS $$ UPDATE orders SET status = 'touched' WHERE id = wanted RETURNING id $$`
    ].join(';\n')
  );
  postgresName = postgres.name;
  dropPostgres = postgres.drop;
  const maria = await createMysqlDatabases(
    [
      `${CREATE.replace('orders', '{main}.orders')};`,
      `INSERT INTO {main}.orders VALUES ${ROWS};`,
      'CREATE FUNCTION {main}.order_count(wanted VARCHAR(20)) RETURNS INT READS SQL DATA RETURN (SELECT COUNT(*) FROM {main}.orders WHERE region = wanted);',
      ''
    ].join('\n')
  );
  mariaName = maria.main;
  dropMaria = maria.drop;
  sqlitePath = join(dir, 'shop.sqlite');
  const sqlite = new DatabaseSync(sqlitePath);
  sqlite.exec(`${CREATE}; INSERT INTO orders VALUES ${ROWS};`);
  sqlite.close();

  const config = join(dir, 'sqlbridge.yaml');
  writeFileSync(
    config,
    [
      'environments:',
      '  pg:',
      `    database: { engine: postgres, host: ${POSTGRES.host}, port: ${POSTGRES.port}, user: ${POSTGRES.user}, database: ${postgres.name}, tls: disable }`,
      '    executeSql: { groups: [analysts] }',
      ...TOOLS,
      '      orders_in:',
      '        description: Order ids and totals of a region, from the orders_in function.',
      '        procedure: public.orders_in',
      '        parameters:',
      '          wanted: { type: string, description: The region code }',
      '      touch_order:',
      '        description: Marks an order as touched (a write hidden in a function).',
      '        procedure: touch_order',
      '        parameters:',
      '          wanted: { type: integer, description: The order id }',
      '  maria:',
      `    database: { engine: mysql, host: ${MYSQL.host}, port: ${MYSQL.port}, user: ${MYSQL.user}, password: "", database: ${maria.main}, tls: disable }`,
      '    executeSql: { groups: [analysts] }',
      ...TOOLS,
      '      order_count:',
      '        description: How many orders a region has, from the order_count function.',
      '        procedure: order_count',
      '        parameters:',
      '          wanted: { type: string, description: The region code }',
      '  lite:',
      `    database: { engine: sqlite, path: ${JSON.stringify(sqlitePath)} }`,
      '    executeSql: false',
      ...TOOLS,
      '      write_scoped:',
      '        description: Order count, for tokens that may write.',
      '        sql: "SELECT COUNT(*) AS n FROM orders"',
      '        scopes: [sql:write]',
      'auth:',
      '  users:',
      `    - { username: ana, passwordHash: "${await hashPassword(ANA.password)}", environments: ["*"], groups: [finance, analysts] }`,
      `    - { username: ben, passwordHash: "${await hashPassword(BEN.password)}", environments: ["*"] }`,
      ''
    ].join('\n')
  );
  server = await startServer({ args: ['serve', '--config', config, '--data-dir', dir] });
}, 120_000);

afterAll(async () => {
  await Promise.allSettled(clients.map(client => disconnect(client)));
  await server?.stop();
  await dropPostgres?.();
  await dropMaria?.();
}, 60_000);

async function signedIn(person: Credentials, environment: string): Promise<Client> {
  const provider = new TestOAuthProvider(authorization => signIn(authorization, person));
  const client = await connectWithOAuth(server?.baseUrl ?? '', environment, provider);
  clients.push(client);
  return client;
}

/** A call's answer as text, whether the server answered with an error result or a protocol error. */
async function attempt(
  client: Client,
  name: string,
  args: Record<string, unknown>
): Promise<{ error: boolean; text: string; rows: unknown[][] }> {
  try {
    const answer = await callTool(client, name, args);
    const rows = (answer.structured as { rows?: unknown[][] } | undefined)?.rows ?? [];
    return { error: answer.isError, text: answer.text, rows };
  } catch (error) {
    return { error: true, text: error instanceof Error ? error.message : String(error), rows: [] };
  }
}

async function rows(client: Client, name: string, args: Record<string, unknown>): Promise<unknown[][]> {
  const answer = await attempt(client, name, args);
  expect(answer.error, answer.text).toBe(false);
  return answer.rows;
}

async function ordersTableExists(environment: string): Promise<boolean> {
  if (environment === 'pg') {
    const result = await pgAdmin(postgresName, client => client.query("SELECT to_regclass('public.orders') AS t"));
    return result.rows[0]?.t !== null;
  }
  if (environment === 'maria') {
    const [found] = await mysqlAdmin(connection =>
      connection.query(
        'SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = ? AND table_name = ?',
        [mariaName, 'orders']
      )
    );
    return Number((found as { n: number }[])[0]?.n) === 1;
  }
  const db = new DatabaseSync(sqlitePath, { readOnly: true });
  try {
    return db.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'orders'").get()?.['n'] === 1;
  } finally {
    db.close();
  }
}

describe.each(['pg', 'maria', 'lite'])('curated tools on %s', environment => {
  let ana: Client;
  let ben: Client;

  beforeAll(async () => {
    ana = await signedIn(ANA, environment);
    ben = await signedIn(BEN, environment);
  }, 60_000);

  it('lists each tool with its parameters as JSON Schema: types, enums, defaults, bounds, descriptions', async () => {
    const { tools } = await ana.listTools();
    const byRegion = tools.find(tool => tool.name === 'orders_by_region');
    expect(byRegion?.title).toBe('Orders of a region');
    expect(byRegion?.description).toMatch(
      /^Orders of one region at or above a total, largest first\. Database content in the text comes between <untrusted-data-ID>/
    );
    expect(byRegion?.annotations?.readOnlyHint).toBe(true);
    const schema = byRegion?.inputSchema as {
      properties: Record<string, Record<string, unknown>>;
      required?: string[];
      additionalProperties?: unknown;
    };
    expect(schema.properties['region']).toMatchObject({
      type: 'string',
      maxLength: 40,
      description: 'The region code'
    });
    expect(schema.properties['min_total']).toMatchObject({ type: 'number', minimum: 0, default: 0 });
    expect(schema.properties['max']).toMatchObject({ type: 'integer', minimum: 1, maximum: 3, default: 3 });
    expect(schema.required).toEqual(['region']);
    expect(schema.additionalProperties).toBe(false);
    const withStatus = tools.find(tool => tool.name === 'orders_with_status');
    expect((withStatus?.inputSchema as { properties: Record<string, unknown> }).properties['status']).toMatchObject({
      enum: ['open', 'shipped']
    });
  });

  it('runs with valid arguments, defaults filled in, and honours the bounds', async () => {
    expect(await rows(ana, 'orders_by_region', { region: 'us' })).toEqual([
      [3, 'open'],
      [4, 'open']
    ]);
    expect(await rows(ana, 'orders_by_region', { region: 'us', min_total: 100 })).toEqual([[3, 'open']]);
    expect(await rows(ana, 'orders_with_status', { status: 'shipped' })).toEqual([[2], [5]]);
    expect(await rows(ana, 'order_by_id', { id: 4 })).toEqual([[4, 'us']]);
    expect(await rows(ana, 'orders_between', { from_day: '2026-02-01', to_day: '2026-03-05' })).toEqual([
      [2],
      [3],
      [4]
    ]);
    expect(
      await rows(ana, 'orders_between', { from_day: '2026-02-01', to_day: '2026-03-05', open_only: true })
    ).toEqual([[3], [4]]);
    // Rendered as execute_sql renders rows: a table framed as untrusted data.
    const { text } = await callTool(ana, 'order_by_id', { id: 4 });
    expect(text).toMatch(/^1 row \(\d+ ms\)\n\n<untrusted-data-[^>]+>\n\| id \| region \|/);
  });

  it.each([
    ['a value of the wrong type', 'orders_by_region', { region: 'eu', min_total: 'lots' }, 'min_total'],
    ['a value out of range', 'orders_by_region', { region: 'eu', max: 50 }, 'max'],
    ['a value not in the enum', 'orders_with_status', { status: 'lost' }, 'status'],
    ['a missing required parameter', 'orders_by_region', { min_total: 1 }, 'region'],
    ['an argument the tool does not have', 'order_by_id', { id: 1, extra: 2 }, 'extra'],
    ['text longer than its maxLength', 'orders_by_region', { region: 'x'.repeat(41) }, 'region'],
    ['a date that is no date', 'orders_between', { from_day: '31/01/2026', to_day: '2026-03-05' }, 'from_day'],
    [
      'a boolean given as text',
      'orders_between',
      { from_day: '2026-01-01', to_day: '2026-03-05', open_only: 'yes' },
      'open_only'
    ]
  ])('refuses %s, naming the parameter', async (_case, name, args, parameter) => {
    const answer = await attempt(ana, name, args);
    expect(answer.error).toBe(true);
    expect(answer.text).toContain(parameter);
    expect(answer.rows).toEqual([]);
  });

  it('keeps injection attempts as data: no rows, and the table is still there', async () => {
    expect(await rows(ana, 'orders_by_region', { region: "' OR 1=1 --" })).toEqual([]);
    expect(await rows(ana, 'orders_by_region', { region: "eu'; DROP TABLE orders; --" })).toEqual([]);
    expect(await rows(ana, 'orders_by_region', { region: 'eu\\' })).toEqual([]);
    const typed = await attempt(ana, 'order_by_id', { id: '1; DROP TABLE orders' });
    expect(typed.error).toBe(true);
    expect(typed.text).toContain('id');
    expect(await ordersTableExists(environment)).toBe(true);
    expect(await rows(ana, 'order_by_id', { id: 1 })).toEqual([[1, 'eu']]);
  });

  it('shows a group’s tool only to its members, and runs it within its row cap', async () => {
    const anasTools = (await ana.listTools()).tools.map(tool => tool.name);
    const bensTools = (await ben.listTools()).tools.map(tool => tool.name);
    expect(anasTools).toContain('totals_by_region');
    expect(bensTools).not.toContain('totals_by_region');
    expect(bensTools).toContain('orders_by_region');
    const capped = await attempt(ana, 'totals_by_region', {});
    expect(capped.rows).toHaveLength(2);
    expect(capped.text).toMatch(/2-row limit/);
    const refused = await attempt(ben, 'totals_by_region', {});
    expect(refused.error).toBe(true);
    expect(refused.text).toMatch(/totals_by_region/);
    expect(refused.rows).toEqual([]);
  });

  it('offers execute_sql only as executeSql says, and refuses a direct call from anyone else', async () => {
    const anaHasSql = environment !== 'lite';
    // The instructions say so without naming any tool, so a group's tools stay unknown to the others.
    expect(ben.getInstructions()).toContain('execute_sql is not offered to everyone here');
    expect(ben.getInstructions()).toContain('Curated tools answer common questions');
    expect(ben.getInstructions()).not.toContain('totals_by_region');
    expect((await ana.listTools()).tools.map(tool => tool.name).includes('execute_sql')).toBe(anaHasSql);
    expect((await ben.listTools()).tools.map(tool => tool.name)).not.toContain('execute_sql');
    const bens = await attempt(ben, 'execute_sql', { query: 'SELECT id FROM orders' });
    expect(bens.error).toBe(true);
    expect(bens.text).toMatch(/execute_sql/);
    expect(bens.rows).toEqual([]);
    const anas = await attempt(ana, 'execute_sql', { query: 'SELECT COUNT(*) AS n FROM orders' });
    expect(anas.error).toBe(!anaHasSql);
  });
});

describe('a database function as a curated tool', () => {
  it('calls a PostgreSQL set-returning function with bound arguments', async () => {
    const ana = await signedIn(ANA, 'pg');
    expect(await rows(ana, 'orders_in', { wanted: 'eu' })).toEqual([
      [1, '120.50'],
      [2, '80.00']
    ]);
    expect(await rows(ana, 'orders_in', { wanted: "eu' OR 'a'='a" })).toEqual([]);
  });

  it('runs a function that writes in the engine’s read-only mode, which refuses the write', async () => {
    const ana = await signedIn(ANA, 'pg');
    const answer = await attempt(ana, 'touch_order', { wanted: 1 });
    expect(answer.error).toBe(true);
    expect(answer.text).toMatch(/read-only transaction/);
    const status = await pgAdmin(postgresName, client => client.query('SELECT status FROM orders WHERE id = 1'));
    expect(status.rows[0]?.status).toBe('open');
  });

  it('calls a MariaDB stored function with bound arguments', async () => {
    const ana = await signedIn(ANA, 'maria');
    expect(await rows(ana, 'order_count', { wanted: 'us' })).toEqual([[2]]);
    expect(await rows(ana, 'order_count', { wanted: "us' OR 'a'='a" })).toEqual([[0]]);
  });
});

describe('a curated tool that needs a scope', () => {
  it('answers a token without it with 403 insufficient_scope naming the scope', async () => {
    const provider = new TestOAuthProvider(authorization => signIn(authorization, ANA));
    clients.push(await connectWithOAuth(server?.baseUrl ?? '', 'lite', provider));
    const seen: Response[] = [];
    const recording = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      const response = await fetch(input, init);
      seen.push(response.clone());
      return response;
    };
    // A plain bearer, without the SDK's OAuth support, so that the 403 is seen rather than stepped up.
    const client = new Client({ name: 'curated-e2e', version: '1' });
    await client.connect(
      new StreamableHTTPClientTransport(mcpUrl(server?.baseUrl ?? '', 'lite'), {
        fetch: recording,
        requestInit: { headers: { authorization: `Bearer ${provider.tokens()?.access_token ?? ''}` } }
      })
    );
    expect((await client.listTools()).tools.map(tool => tool.name)).toContain('write_scoped');
    await client.callTool({ name: 'write_scoped', arguments: {} }).catch(() => undefined);
    await client.close();
    const last = seen.at(-1);
    expect(last?.status).toBe(403);
    const challenge = last?.headers.get('www-authenticate') ?? '';
    expect(challenge).toContain('error="insufficient_scope"');
    expect(challenge).toMatch(/scope="[^"]*sql:write/);
  });
});
