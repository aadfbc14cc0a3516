import { randomBytes } from 'node:crypto';
import type { DatabaseConfig } from '../../src/config/schema.ts';
import { randomId } from '../dialects/engine.ts';
import {
  createMssqlDatabase,
  dropMssqlLogin,
  mssqlDatabaseConfig,
  mssqlDatabaseYaml
} from '../dialects/engines/mssql.ts';
import { MYSQL, mysqlAdmin } from '../dialects/engines/mysql.ts';
import { POSTGRES, createPostgresDatabase, pgAdmin } from '../dialects/engines/postgres.ts';

/**
 * Databases whose grants differ per role, for the `access` setting: an unprivileged login that is a
 * member of two roles. `reporting` reads three columns of `orders` (and, on PostgreSQL, only the
 * rows a policy lets through: region `eu`); `finance` reads every column and row of `orders` and the
 * table `salaries`. The login itself reads only `notice`. Names are unique to a run (roles and
 * MariaDB accounts belong to the whole server).
 */

export interface OrderRow {
  id: number;
  region: string;
  amount: string;
  email: string;
}

export const ORDERS: OrderRow[] = [
  { id: 1, region: 'eu', amount: '10.00', email: 'a@example.com' },
  { id: 2, region: 'us', amount: '20.00', email: 'b@example.com' },
  { id: 3, region: 'eu', amount: '30.00', email: 'c@example.com' },
  { id: 4, region: 'apac', amount: '40.00', email: 'd@example.com' }
];

export interface RolesFixture {
  /** The login sqlbridge connects as, and its password ('' on PostgreSQL: trust authentication). */
  login: string;
  password: string;
  database: string;
  reporting: string;
  finance: string;
  /** The configuration file's `database:` value, with a pool of one connection. */
  yaml: string;
  /** The same as a validated setting, for a runtime built in the test. */
  config: DatabaseConfig;
  drop(): Promise<void>;
}

const TABLES = [
  'CREATE TABLE orders (id integer PRIMARY KEY, region varchar(10) NOT NULL, amount decimal(10,2) NOT NULL, customer_email varchar(60) NOT NULL)',
  `INSERT INTO orders VALUES ${ORDERS.map(o => `(${o.id}, '${o.region}', ${o.amount}, '${o.email}')`).join(', ')}`,
  'CREATE TABLE salaries (id integer PRIMARY KEY, employee varchar(40) NOT NULL, amount integer NOT NULL)',
  "INSERT INTO salaries VALUES (1, 'Ada', 5000), (2, 'Grace', 6000)",
  'CREATE TABLE notice (id integer PRIMARY KEY, message varchar(60) NOT NULL)',
  "INSERT INTO notice VALUES (1, 'hello')"
];

export async function createPostgresRoles(): Promise<RolesFixture> {
  const suffix = randomId();
  const login = `sqlbridge_roles_${suffix}`;
  const reporting = `reporting_${suffix}`;
  const finance = `finance_${suffix}`;
  // NOINHERIT: the login holds none of its roles' privileges until it switches to one.
  await pgAdmin('test', client =>
    client.query(
      [
        `CREATE ROLE ${login} LOGIN NOINHERIT NOSUPERUSER NOBYPASSRLS`,
        `CREATE ROLE ${reporting} NOLOGIN`,
        `CREATE ROLE ${finance} NOLOGIN`,
        `GRANT ${reporting}, ${finance} TO ${login}`
      ].join(';\n')
    )
  );
  const created = await createPostgresDatabase(
    [
      ...TABLES,
      'ALTER TABLE orders ENABLE ROW LEVEL SECURITY',
      `GRANT SELECT (id, region, amount) ON orders TO ${reporting}`,
      `GRANT SELECT ON orders, salaries TO ${finance}`,
      `CREATE POLICY eu_only ON orders FOR SELECT TO ${reporting} USING (region = 'eu')`,
      `CREATE POLICY every_order ON orders FOR SELECT TO ${finance} USING (true)`,
      `GRANT SELECT ON notice TO ${login}`
    ].join(';\n')
  );
  return {
    login,
    password: '',
    database: created.name,
    reporting,
    finance,
    yaml: `{ engine: postgres, host: ${POSTGRES.host}, port: ${POSTGRES.port}, user: ${login}, database: ${created.name}, tls: disable, pool: { max: 1 } }`,
    config: {
      engine: 'postgres',
      host: POSTGRES.host,
      port: POSTGRES.port,
      user: login,
      database: created.name,
      tls: 'disable',
      connectTimeoutMs: 5000,
      pool: { max: 1, idleTimeoutMs: 60_000 }
    },
    async drop() {
      await created.drop();
      await pgAdmin('test', client =>
        client.query(`DROP ROLE IF EXISTS ${login}; DROP ROLE IF EXISTS ${reporting}; DROP ROLE IF EXISTS ${finance}`)
      );
    }
  };
}

export async function createMariadbRoles(): Promise<RolesFixture> {
  const suffix = randomId();
  const database = `sqlbridge_roles_${suffix}`;
  const login = `sqlbridge_roles_${suffix}`;
  const password = randomBytes(18).toString('base64url');
  const reporting = `reporting_${suffix}`;
  const finance = `finance_${suffix}`;
  const drop = (): Promise<void> =>
    mysqlAdmin(async connection => {
      await connection.query(`DROP DATABASE IF EXISTS ${database}`);
      await connection.query(`DROP USER IF EXISTS '${login}'@'%'`);
      await connection.query(`DROP ROLE IF EXISTS ${reporting}`);
      await connection.query(`DROP ROLE IF EXISTS ${finance}`);
    });
  try {
    await mysqlAdmin(async connection => {
      await connection.query(`CREATE DATABASE ${database}`);
      await connection.query(`USE ${database}`);
      for (const statement of [
        ...TABLES,
        `CREATE ROLE ${reporting}`,
        `CREATE ROLE ${finance}`,
        `GRANT SELECT (id, region, amount) ON ${database}.orders TO ${reporting}`,
        `GRANT SELECT ON ${database}.orders TO ${finance}`,
        `GRANT SELECT ON ${database}.salaries TO ${finance}`,
        `CREATE USER '${login}'@'%' IDENTIFIED BY '${password}'`,
        `GRANT ${reporting} TO '${login}'@'%'`,
        `GRANT ${finance} TO '${login}'@'%'`,
        `GRANT SELECT ON ${database}.notice TO '${login}'@'%'`
      ]) {
        await connection.query(statement);
      }
    });
  } catch (error) {
    await drop();
    throw error;
  }
  return {
    login,
    password,
    database,
    reporting,
    finance,
    yaml: `{ engine: mysql, host: ${MYSQL.host}, port: ${MYSQL.port}, user: ${login}, password: "${password}", database: ${database}, tls: disable, pool: { max: 1 } }`,
    config: {
      engine: 'mysql',
      host: MYSQL.host,
      port: MYSQL.port,
      user: login,
      password,
      database,
      tls: 'disable',
      connectTimeoutMs: 5000,
      pool: { max: 1, idleTimeoutMs: 60_000 }
    },
    drop
  };
}

/**
 * SQL Server: the roles are database users without a login, which the login may impersonate
 * (`EXECUTE AS USER`); only where SQLBRIDGE_TEST_MSSQL_URL names a server.
 */
export async function createMssqlRoles(): Promise<RolesFixture> {
  const suffix = randomId();
  const login = `sqlbridge_roles_${suffix}`;
  const password = `Roles-${randomBytes(18).toString('hex')}-Aa9`;
  const reporting = `reporting_${suffix}`;
  const finance = `finance_${suffix}`;
  const created = await createMssqlDatabase([
    TABLES.join(';\n'),
    `CREATE LOGIN ${login} WITH PASSWORD = N'${password}';
     CREATE USER ${login} FOR LOGIN ${login};
     CREATE USER ${reporting} WITHOUT LOGIN;
     CREATE USER ${finance} WITHOUT LOGIN;
     GRANT IMPERSONATE ON USER::${reporting} TO ${login};
     GRANT IMPERSONATE ON USER::${finance} TO ${login};
     GRANT SELECT ON dbo.notice TO ${login};
     GRANT SELECT ON dbo.orders (id, region, amount) TO ${reporting};
     GRANT SELECT ON dbo.orders TO ${finance};
     GRANT SELECT ON dbo.salaries TO ${finance};`
  ]);
  return {
    login,
    password,
    database: created.name,
    reporting,
    finance,
    yaml: mssqlDatabaseYaml(created.name, `user: ${login}, password: ${JSON.stringify(password)}, pool: { max: 1 }`),
    config: { ...mssqlDatabaseConfig(created.name, 1), user: login, password },
    async drop() {
      await dropMssqlLogin(login);
      await created.drop();
    }
  };
}
