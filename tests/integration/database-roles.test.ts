import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessPolicy } from '../../src/db/access.ts';
import { createDialect } from '../../src/db/registry.ts';
import { DatabaseRuntime, type QueryEvent, type QueryOptions } from '../../src/db/runtime.ts';
import { SqlbridgeError } from '../../src/errors/sqlbridge-error.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { ROLE_ESCAPES as MYSQL_ESCAPES } from '../fixtures/attacks/mysql.ts';
import { ROLE_ESCAPES as POSTGRES_ESCAPES } from '../fixtures/attacks/postgres.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import { MSSQL_URL } from '../dialects/engines/mssql.ts';
import {
  ORDERS,
  createMariadbRoles,
  createMssqlRoles,
  createPostgresRoles,
  type RolesFixture
} from '../helpers/database-roles.ts';
import { ROLE_ESCAPES as MSSQL_ESCAPES } from '../fixtures/attacks/mssql.ts';

/**
 * The database runtime with an `access` setting against real servers, on a pool of one connection:
 * each caller's statements and catalog reads run as their role, the database enforces its grants
 * and policies, a caller without a role is refused before anything runs, no statement leaves the
 * role, and the connection is back on the login's own privileges for whoever uses it next.
 */

const LIMITS = {
  maxRows: 100,
  maxResultChars: 50_000,
  queryTimeoutMs: 20_000,
  maxStatements: 1,
  binaryPreviewBytes: 48
};

const caller = (subject: string, groups: string[]): QueryOptions => ({
  caller: { identity: { subject, clientId: 'test', groups } }
});
const ANA = caller('ana', ['visitors', 'analysts']);
const BEN = caller('ben', ['finance']);
const CY = caller('cy', ['visitors']);
const DEE = caller('Dee', ['analysts']);

interface Engine {
  name: string;
  create(): Promise<RolesFixture>;
  escapes: string[];
  /** Whether a role's rows are filtered by a policy (PostgreSQL) or only its columns (MariaDB). */
  rowPolicy: boolean;
  /** Whether the login's own grants stay in force under a role (MariaDB adds the role's to them). */
  loginGrantsUnderRole: boolean;
  currentRole: string;
  /** Only with SQLBRIDGE_TEST_MSSQL_URL: no SQL Server runs on this project's machines. */
  needsMssql?: boolean;
}

const ENGINES: Engine[] = [
  {
    name: 'PostgreSQL',
    create: createPostgresRoles,
    escapes: POSTGRES_ESCAPES.map(a => a.sql),
    rowPolicy: true,
    loginGrantsUnderRole: false,
    currentRole: 'SELECT current_user AS role'
  },
  {
    name: 'MariaDB',
    create: createMariadbRoles,
    escapes: MYSQL_ESCAPES.map(a => a.sql),
    rowPolicy: false,
    loginGrantsUnderRole: true,
    currentRole: 'SELECT CURRENT_ROLE() AS role'
  },
  {
    name: 'SQL Server',
    create: createMssqlRoles,
    escapes: MSSQL_ESCAPES.map(a => a.sql),
    rowPolicy: false,
    loginGrantsUnderRole: false,
    currentRole: 'SELECT USER_NAME() AS role',
    needsMssql: true
  }
];

// SQL Server cannot run on this project's machines; its case runs wherever SQLBRIDGE_TEST_MSSQL_URL names one.
for (const engine of ENGINES) {
  describe.skipIf(engine.needsMssql === true && MSSQL_URL === undefined)(`database roles on ${engine.name}`, () => {
    let fixture: RolesFixture;
    let db: DatabaseRuntime;
    const events: QueryEvent[] = [];

    beforeAll(async () => {
      fixture = await engine.create();
      const access: AccessPolicy = {
        roles: { analysts: fixture.reporting, finance: fixture.finance, 'user:dee': fixture.finance },
        default: 'none'
      };
      db = new DatabaseRuntime({
        environment: 'roles',
        dialect: createDialect(
          { readOnly: true, database: fixture.config, limits: { ...LIMITS, maxSampleRows: 10 } },
          { environment: 'roles', dataDir: emptyDir(), logger: createLogger('silent') }
        ),
        readOnly: true,
        limits: LIMITS,
        access
      });
      db.onQuery(event => events.push(event));
    }, 60_000);

    afterAll(async () => {
      // Undefined when beforeAll failed part-way.
      await (db as DatabaseRuntime | undefined)?.close();
      await (fixture as RolesFixture | undefined)?.drop();
    }, 60_000);

    const select = 'SELECT id, region, amount FROM orders ORDER BY id';
    const all = ORDERS.map(o => [o.id, o.region, o.amount]);

    it('gives each caller the rows and columns of their role for the same statement', async () => {
      const eu = ORDERS.filter(o => o.region === 'eu').map(o => [o.id, o.region, o.amount]);
      for (let round = 0; round < 2; round++) {
        expect((await db.query(select, ANA)).rows).toEqual(engine.rowPolicy ? eu : all);
        expect((await db.query(select, BEN)).rows).toEqual(all);
      }
      await expect(db.query('SELECT customer_email FROM orders', ANA)).rejects.toMatchObject({ code: 'query_failed' });
      expect((await db.query('SELECT customer_email FROM orders ORDER BY id', BEN)).rows).toEqual(
        ORDERS.map(o => [o.email])
      );
    });

    it('maps a user before their groups, usernames case-insensitively', async () => {
      expect((await db.query(engine.currentRole, DEE)).rows).toEqual([[fixture.finance]]);
      expect((await db.query(engine.currentRole, ANA)).rows).toEqual([[fixture.reporting]]);
    });

    it('lists and describes only what the role may read; a hidden table is not found like a missing one', async () => {
      const names = async (who: typeof ANA): Promise<string[]> => (await db.listTables(who)).map(t => t.name).sort();
      const own = engine.loginGrantsUnderRole ? ['notice'] : [];
      expect(await names(ANA)).toEqual([...own, 'orders'].sort());
      expect(await names(BEN)).toEqual([...own, 'orders', 'salaries'].sort());
      const described = await db.describeTable('orders', ANA);
      expect(described.columns.map(c => c.name)).toEqual(['id', 'region', 'amount']);
      expect((await db.describeTable('orders', BEN)).columns.map(c => c.name)).toEqual([
        'id',
        'region',
        'amount',
        'customer_email'
      ]);
      const hidden = await db.describeTable('salaries', ANA).catch((error: unknown) => error);
      const missing = await db.describeTable('salarie5', ANA).catch((error: unknown) => error);
      expect(hidden).toBeInstanceOf(SqlbridgeError);
      expect((hidden as SqlbridgeError).code).toBe('table_not_found');
      expect((hidden as SqlbridgeError).message.replaceAll('salaries', 'X')).toBe(
        (missing as SqlbridgeError).message.replaceAll('salarie5', 'X')
      );
      await expect(db.resolveTable('salaries', ANA)).rejects.toMatchObject({ code: 'table_not_found' });
      await expect(db.query('SELECT * FROM salaries', ANA)).rejects.toMatchObject({ code: 'query_failed' });
    });

    it('samples a table as the caller’s role: its rows, and only the columns it may read', async () => {
      const orders = await db.resolveTable('orders', BEN);
      expect((await db.sample(orders, 10, BEN)).rows).toHaveLength(ORDERS.length);
      const limited = await db.sample(await db.resolveTable('orders', ANA), 10, ANA);
      expect(limited.columns.map(c => c.name.toLowerCase())).toEqual(['id', 'region', 'amount']);
      const regions = limited.rows.map(row => row[1]).sort();
      expect(regions).toEqual(
        ORDERS.filter(o => !engine.rowPolicy || o.region === 'eu')
          .map(o => o.region)
          .sort()
      );
    });

    it('refuses a caller without a role before any SQL runs, catalog included', async () => {
      const before = events.length;
      for (const attempt of [
        () => db.query(select, CY),
        () => db.listTables(CY),
        () => db.describeTable('orders', CY),
        () => db.query(select, {})
      ]) {
        const error = await attempt().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(SqlbridgeError);
        expect((error as SqlbridgeError).code).toBe('access_denied');
        expect((error as SqlbridgeError).expose).toBe(true);
        expect((error as SqlbridgeError).message).toMatch(/has no database role in this environment/);
      }
      expect(events.slice(before).map(e => e.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
    });

    it('refuses every way out of the role, and the role still holds', async () => {
      expect(engine.escapes.length).toBeGreaterThan(5);
      for (const sql of engine.escapes) {
        await expect(db.query(sql, ANA), sql).rejects.toMatchObject({ code: 'statement_rejected' });
      }
      expect((await db.query(engine.currentRole, ANA)).rows).toEqual([[fixture.reporting]]);
      await expect(db.query('SELECT * FROM salaries', ANA)).rejects.toMatchObject({ code: 'query_failed' });
    });

    it('leaves the one pooled connection on the login’s own privileges after a caller’s role', async () => {
      expect((await db.query('SELECT count(*) AS n FROM salaries', BEN)).rows).toEqual([[2]]);
      // The login's own catalog read, on the same connection: only what the login itself may read.
      expect((await db.listTablesAs(undefined)).map(t => t.name)).toEqual(['notice']);
      await expect(db.query('SELECT count(*) FROM salaries', ANA)).rejects.toMatchObject({ code: 'query_failed' });
      expect((await db.listTablesAs(undefined)).map(t => t.name)).toEqual(['notice']);
    });
  });
}
