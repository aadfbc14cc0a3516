import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport, UnauthorizedError } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/auth/server/passwords.ts';
import { mysqlAdmin } from '../dialects/engines/mysql.ts';
import { pgAdmin } from '../dialects/engines/postgres.ts';
import { ROLE_ESCAPES as MYSQL_ESCAPES } from '../fixtures/attacks/mysql.ts';
import { ROLE_ESCAPES as POSTGRES_ESCAPES } from '../fixtures/attacks/postgres.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import { ORDERS, createMariadbRoles, createPostgresRoles, type RolesFixture } from '../helpers/database-roles.ts';
import { signIn, TestOAuthProvider, type Credentials } from '../helpers/oauth-login.ts';
import { startServer, type RunningServer } from '../helpers/server-process.ts';

/**
 * Database roles per user and group, through the real server and the real OAuth flow: the server
 * connects as one unprivileged login (a pool of one connection) that is a member of two roles, and
 * each environment's `access` setting maps the users' groups to them. The database enforces the
 * rest: the same statement returns each person the rows and columns of their role, a table their
 * role cannot read is refused and hidden from the catalog tools, a person whose groups map to no
 * role is refused before anything reaches the database (its activity view shows the connection
 * untouched), and no statement leaves the role.
 */

const ANA: Credentials = { username: 'ana', password: 'ana-correct-horse-battery' };
const BEN: Credentials = { username: 'ben', password: 'ben-correct-horse-battery' };
const CY: Credentials = { username: 'cy', password: 'cy-correct-horse-battery' };

let server: RunningServer | undefined;
let pgFixture: RolesFixture | undefined;
let mariaFixture: RolesFixture | undefined;

beforeAll(async () => {
  const dir = emptyDir('roles-');
  pgFixture = await createPostgresRoles();
  mariaFixture = await createMariadbRoles();
  const access = (f: RolesFixture): string =>
    `    access: { roles: { analysts: ${f.reporting}, finance: ${f.finance} }, default: none }`;
  const config = join(dir, 'sqlbridge.yaml');
  const user = async (who: Credentials, groups: string): Promise<string> =>
    `    - { username: ${who.username}, passwordHash: "${await hashPassword(who.password)}", environments: [pg, maria], groups: ${groups} }`;
  writeFileSync(
    config,
    [
      'environments:',
      '  pg:',
      `    database: ${pgFixture.yaml}`,
      access(pgFixture),
      '  maria:',
      `    database: ${mariaFixture.yaml}`,
      access(mariaFixture),
      'auth:',
      '  users:',
      await user(ANA, '[visitors, analysts]'),
      await user(BEN, '[finance]'),
      await user(CY, '[visitors]'),
      ''
    ].join('\n')
  );
  server = await startServer({ args: ['serve', '--config', config, '--data-dir', dir] });
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await pgFixture?.drop();
  await mariaFixture?.drop();
}, 60_000);

/** An MCP client signed in as `person` through the environment's own OAuth flow. */
async function signedIn(person: Credentials, environment: string): Promise<Client> {
  const url = new URL(`${server?.baseUrl ?? ''}/${environment}/mcp`);
  const provider = new TestOAuthProvider(authorization => signIn(authorization, person));
  const first = new StreamableHTTPClientTransport(url, { authProvider: provider });
  await expect(new Client({ name: 'roles-e2e', version: '1' }).connect(first)).rejects.toBeInstanceOf(
    UnauthorizedError
  );
  const callback = provider.callback;
  if (callback === undefined) throw new Error('the client was never sent to sign in');
  await first.finishAuth(callback.searchParams);
  const client = new Client({ name: 'roles-e2e', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(url, { authProvider: provider }));
  return client;
}

type ToolResult = Awaited<ReturnType<Client['callTool']>>;

function text(result: ToolResult): string {
  const first = (result.content as { type: string; text?: string }[])[0];
  return first?.type === 'text' ? (first.text ?? '') : '';
}

async function call(client: Client, name: string, args: Record<string, unknown>): Promise<ToolResult> {
  return client.callTool({ name, arguments: args });
}

async function rows(client: Client, query: string): Promise<unknown[][]> {
  const result = await call(client, 'execute_sql', { query });
  expect(result.isError, `${query} → ${text(result)}`).not.toBe(true);
  return (result.structuredContent as { rows: unknown[][] }).rows;
}

async function refusal(client: Client, name: string, args: Record<string, unknown>): Promise<string> {
  const result = await call(client, name, args);
  expect(result.isError, `${name} ${JSON.stringify(args)} was not refused: ${text(result)}`).toBe(true);
  return text(result);
}

async function tableNames(client: Client): Promise<string[]> {
  const result = await call(client, 'list_tables', {});
  expect(result.isError, text(result)).not.toBe(true);
  return (result.structuredContent as { tables: { name: string }[] }).tables.map(t => t.name).sort();
}

interface Target {
  environment: string;
  name: string;
  fixture(): RolesFixture;
  escapes: string[];
  /** A row policy filters the rows of `reporting` (PostgreSQL); on MariaDB only its columns are narrower. */
  rowPolicy: boolean;
  currentRole: string;
  /**
   * What the database's activity view says of the login's connections, taken so that it changes
   * whenever a statement reaches one of them (and not otherwise).
   */
  activity(): Promise<Activity>;
}

interface Activity {
  connections: string[];
  /** Milliseconds since each connection last ran a statement, where the engine counts them. */
  idleMs: number[];
}

const TARGETS: Target[] = [
  {
    environment: 'pg',
    name: 'PostgreSQL: column grants and a row policy per role',
    fixture: () => pgFixture as RolesFixture,
    escapes: POSTGRES_ESCAPES.map(a => a.sql),
    rowPolicy: true,
    currentRole: 'SELECT current_user AS role',
    // query_start changes with every statement a backend runs; pid and backend_start with every new connection.
    activity: () =>
      pgAdmin('test', async client => {
        const result = await client.query<{ at: string }>(
          "SELECT pid || ' ' || backend_start || ' ' || coalesce(query_start::text, '') AS at FROM pg_stat_activity WHERE usename = $1 ORDER BY pid",
          [pgFixture?.login]
        );
        return { connections: result.rows.map(r => r.at), idleMs: [] };
      })
  },
  {
    environment: 'maria',
    name: 'MariaDB: column grants per role',
    fixture: () => mariaFixture as RolesFixture,
    escapes: MYSQL_ESCAPES.map(a => a.sql),
    rowPolicy: false,
    currentRole: 'SELECT CURRENT_ROLE() AS role',
    // TIME_MS: milliseconds in the current state, reset by every command the connection receives.
    activity: () =>
      mysqlAdmin(async connection => {
        const [result] = await connection.query(
          'SELECT ID AS id, COMMAND AS command, TIME_MS AS ms FROM information_schema.PROCESSLIST WHERE USER = ? ORDER BY ID',
          [mariaFixture?.login]
        );
        const list = result as { id: number; command: string; ms: number | string }[];
        return { connections: list.map(r => `${r.id} ${r.command}`), idleMs: list.map(r => Number(r.ms)) };
      })
  }
];

for (const target of TARGETS) {
  describe(target.name, () => {
    let ana: Client;
    let ben: Client;
    let cy: Client;
    const opened: Client[] = [];
    const select = 'SELECT id, region, amount FROM orders ORDER BY id';
    const all = ORDERS.map(o => [o.id, o.region, o.amount]);
    const eu = ORDERS.filter(o => o.region === 'eu').map(o => [o.id, o.region, o.amount]);

    beforeAll(async () => {
      for (const person of [ANA, BEN, CY]) opened.push(await signedIn(person, target.environment));
      [ana, ben, cy] = opened as [Client, Client, Client];
    }, 60_000);

    afterAll(async () => {
      for (const client of opened) await client.close().catch(() => undefined);
    });

    it('runs the same statement with each person’s role: different rows and columns', async () => {
      // Interleaved on the environment's one connection: nobody keeps the previous caller's role.
      for (let round = 0; round < 2; round++) {
        expect(await rows(ana, target.currentRole)).toEqual([[target.fixture().reporting]]);
        expect(await rows(ana, select)).toEqual(target.rowPolicy ? eu : all);
        expect(await rows(ben, target.currentRole)).toEqual([[target.fixture().finance]]);
        expect(await rows(ben, select)).toEqual(all);
      }
      expect(eu.length).toBeLessThan(all.length);
      expect(await rows(ben, 'SELECT customer_email FROM orders ORDER BY id')).toEqual(ORDERS.map(o => [o.email]));
      const said = await refusal(ana, 'execute_sql', { query: 'SELECT customer_email FROM orders' });
      expect(said).toMatch(
        /^The database rejected the query:\n<untrusted-data-[0-9a-f]{16}>\n.*(permission denied|command denied)/i
      );
    });

    it('refuses a table the role cannot read and hides it from the catalog tools, like a missing one', async () => {
      expect(await tableNames(ben)).toContain('salaries');
      expect(await tableNames(ana)).not.toContain('salaries');
      expect(await tableNames(ana)).toContain('orders');
      const said = await refusal(ana, 'execute_sql', { query: 'SELECT * FROM salaries' });
      expect(said).toMatch(
        /^The database rejected the query:\n<untrusted-data-[0-9a-f]{16}>\n.*(permission denied|command denied)/i
      );
      for (const tool of ['describe_table', 'get_table_sample']) {
        const hidden = await refusal(ana, tool, { table_name: 'salaries' });
        const missing = await refusal(ana, tool, { table_name: 'wages' });
        expect(hidden).toMatch(/^Table not found: /);
        expect(hidden.replaceAll('salaries', 'X')).toBe(missing.replaceAll('wages', 'X'));
      }
      const described = await call(ana, 'describe_table', { table_name: 'orders' });
      const columns = (described.structuredContent as { columns: { name: string }[] }).columns.map(c => c.name);
      expect(columns).toEqual(['id', 'region', 'amount']);
      const sample = await call(ben, 'get_table_sample', { table_name: 'salaries' });
      expect(sample.isError, text(sample)).not.toBe(true);
    });

    it('refuses a person whose groups map to no role, before anything reaches the database', async () => {
      await rows(ben, 'SELECT 1');
      // Some time without statements, so that a statement in the next one would show.
      await new Promise(resolve => setTimeout(resolve, 1200));
      const before = await target.activity();
      const tookBefore = performance.now();
      expect(before.connections).toHaveLength(1);
      for (const [tool, args] of [
        ['execute_sql', { query: select }],
        ['list_tables', {}],
        ['describe_table', { table_name: 'orders' }],
        ['get_table_sample', { table_name: 'orders' }]
      ] as const) {
        const said = await refusal(cy, tool, args);
        expect(said).toMatch(/^Access denied: the user "cy" has no database role in this environment/);
      }
      const waited = performance.now() - tookBefore;
      const after = await target.activity();
      expect(after.connections).toEqual(before.connections);
      after.idleMs.forEach((ms, i) => expect(ms).toBeGreaterThanOrEqual((before.idleMs[i] ?? 0) + waited - 100));
      // The same view sees a statement that does reach the database.
      await rows(ben, 'SELECT 1');
      const later = await target.activity();
      if (before.idleMs.length === 0) expect(later.connections).not.toEqual(after.connections);
      else expect(later.idleMs[0]).toBeLessThan(after.idleMs[0] ?? 0);
    });

    it('refuses every way out of the role, and nothing changes', async () => {
      for (const query of target.escapes) {
        expect(await refusal(ana, 'execute_sql', { query })).toMatch(/^Not allowed: /);
      }
      expect(await rows(ana, target.currentRole)).toEqual([[target.fixture().reporting]]);
      expect(await rows(ana, select)).toEqual(target.rowPolicy ? eu : all);
      expect(await refusal(ana, 'execute_sql', { query: 'SELECT * FROM salaries' })).toMatch(/rejected the query/);
      expect(await rows(ben, target.currentRole)).toEqual([[target.fixture().finance]]);
    });
  });
}
