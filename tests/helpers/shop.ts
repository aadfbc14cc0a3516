import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { MSSQL_URL, dropMssqlDatabase, mssqlAdmin } from '../dialects/engines/mssql.ts';
import { MYSQL, createMysqlDatabases } from '../dialects/engines/mysql.ts';
import { POSTGRES, createPostgresDatabase } from '../dialects/engines/postgres.ts';
import { emptyDir } from './data-dir.ts';
import { CANARY, CUSTOMERS, ORDERS, ORDER_ITEMS, PRODUCTS } from '../fixtures/shop/data.ts';

/**
 * The shop fixture (customers, products, orders, order_items, a canary and a view) on each engine,
 * and a snapshot of everything an attack could change: every table's rows, the schema catalog,
 * permissions, sequences and, for SQLite, the files on disk. Two snapshots are equal only if nothing
 * changed.
 */

export type ShopEngine = 'sqlite' | 'postgres' | 'mysql' | 'mssql';

export interface Snapshot {
  /** sha256 of each table's rows in a stable order. */
  tables: Record<string, string>;
  /** sha256 of each catalog listing (columns, objects, routines, grants, roles, sequences, files). */
  catalog: Record<string, string>;
  canary: unknown[];
}

export interface Shop {
  engine: ShopEngine;
  /** The `database:` mapping of a sqlbridge configuration, as YAML flow. */
  databaseYaml: string;
  snapshot(): Promise<Snapshot>;
  drop(): Promise<void>;
}

const TABLES = ['customers', 'products', 'orders', 'order_items', 'canary'] as const;
const schemaSql = (engine: ShopEngine): string =>
  readFileSync(new URL(`../fixtures/shop/${engine}.sql`, import.meta.url), 'utf8');

const ROWS: Record<(typeof TABLES)[number], Record<string, unknown>[]> = {
  customers: CUSTOMERS,
  products: PRODUCTS,
  orders: ORDERS,
  order_items: ORDER_ITEMS,
  canary: CANARY
};

function hash(value: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)))
    .digest('hex');
}

function inserts(placeholder: (i: number) => string): { table: string; sql: string; values: unknown[] }[] {
  return TABLES.flatMap(table =>
    ROWS[table].map(row => {
      const columns = Object.keys(row);
      return {
        table,
        sql: `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((_c, i) => placeholder(i)).join(', ')})`,
        values: Object.values(row)
      };
    })
  );
}

export async function createShop(engine: ShopEngine): Promise<Shop> {
  switch (engine) {
    case 'sqlite':
      return sqliteShop();
    case 'postgres':
      return postgresShop();
    case 'mysql':
      return mysqlShop();
    case 'mssql':
      return mssqlShop();
  }
}

function sqliteShop(): Shop {
  const dir = emptyDir('shop-');
  const path = join(dir, 'shop.db');
  const db = new DatabaseSync(path);
  db.exec(schemaSql('sqlite'));
  db.exec('BEGIN');
  for (const insert of inserts(() => '?')) db.prepare(insert.sql).run(...(insert.values as never[]));
  db.exec('COMMIT');
  db.close();
  return {
    engine: 'sqlite',
    databaseYaml: `{ engine: sqlite, path: ${JSON.stringify(path)} }`,
    async snapshot() {
      const reader = new DatabaseSync(path, { readOnly: true });
      try {
        const tables = Object.fromEntries(
          TABLES.map(table => [table, hash(reader.prepare(`SELECT * FROM ${table} ORDER BY 1, 2`).all())])
        );
        const files = readdirSync(dir).sort();
        return {
          tables,
          catalog: {
            schema: hash(reader.prepare('SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY name').all()),
            files: hash(files),
            bytes: hash(createHash('sha256').update(readFileSync(path)).digest('hex')),
            userVersion: hash(reader.prepare('PRAGMA user_version').all())
          },
          canary: reader.prepare('SELECT id, value FROM canary ORDER BY id').all()
        };
      } finally {
        reader.close();
      }
    },
    async drop() {
      // The directory is temporary.
    }
  };
}

async function postgresShop(): Promise<Shop> {
  const { name, drop } = await createPostgresDatabase(schemaSql('postgres'));
  const client = new pg.Client({ ...POSTGRES, database: name });
  await client.connect();
  try {
    for (const insert of inserts(i => `$${i + 1}`)) await client.query(insert.sql, insert.values);
  } finally {
    await client.end();
  }
  return {
    engine: 'postgres',
    databaseYaml: `{ engine: postgres, host: ${POSTGRES.host}, port: ${POSTGRES.port}, user: ${POSTGRES.user}, database: ${name}, tls: disable }`,
    async snapshot() {
      const reader = new pg.Client({ ...POSTGRES, database: name });
      await reader.connect();
      const query = async (text: string): Promise<unknown[]> => (await reader.query(text)).rows as unknown[];
      try {
        const tables: Record<string, string> = {};
        for (const table of TABLES) tables[table] = hash(await query(`SELECT * FROM ${table} ORDER BY 1, 2`));
        const userSchemas =
          "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'";
        return {
          tables,
          catalog: {
            columns: hash(
              await query(
                "SELECT table_schema, table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2, 3"
              )
            ),
            relations: hash(
              await query(
                `SELECT n.nspname, c.relname, c.relkind, c.relacl::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${userSchemas} ORDER BY 1, 2`
              )
            ),
            routines: hash(
              await query(
                `SELECT n.nspname, p.proname, pg_get_function_identity_arguments(p.oid) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE ${userSchemas} ORDER BY 1, 2, 3`
              )
            ),
            triggers: hash(
              await query('SELECT tgname, tgrelid::regclass::text FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1')
            ),
            roles: hash(
              await query(
                "SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolcanlogin, rolbypassrls FROM pg_roles WHERE rolname NOT LIKE 'sqlbridge_test_%' ORDER BY 1"
              )
            ),
            settings: hash(await query('SELECT setdatabase, setrole, setconfig FROM pg_db_role_setting ORDER BY 1, 2')),
            databases: hash(
              await query("SELECT datname FROM pg_database WHERE datname NOT LIKE 'sqlbridge_test_%' ORDER BY 1")
            ),
            sequence: hash(await query('SELECT last_value, is_called FROM order_numbers')),
            largeObjects: hash(await query('SELECT oid FROM pg_largeobject_metadata ORDER BY 1')),
            extensions: hash(await query('SELECT extname FROM pg_extension ORDER BY 1'))
          },
          canary: await query('SELECT id, value FROM canary ORDER BY id')
        };
      } finally {
        await reader.end();
      }
    },
    drop
  };
}

async function mysqlShop(): Promise<Shop> {
  const { main, drop } = await createMysqlDatabases(`USE {main};\n${schemaSql('mysql')}`);
  const connect = (): Promise<mysql.Connection> => mysql.createConnection({ ...MYSQL, database: main });
  const connection = await connect();
  try {
    for (const insert of inserts(() => '?')) await connection.query(insert.sql, insert.values);
  } finally {
    await connection.end();
  }
  return {
    engine: 'mysql',
    databaseYaml: `{ engine: mysql, host: ${MYSQL.host}, port: ${MYSQL.port}, user: ${MYSQL.user}, database: ${main}, tls: disable }`,
    async snapshot() {
      const reader = await connect();
      const rows = async (text: string, values: unknown[] = []): Promise<unknown[]> =>
        (await reader.query(text, values))[0] as unknown[];
      try {
        const tables: Record<string, string> = {};
        for (const table of TABLES) tables[table] = hash(await rows(`SELECT * FROM ${table} ORDER BY 1, 2`));
        return {
          tables,
          catalog: {
            schemata: hash(
              await rows(
                "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME NOT LIKE 'sqlbridge_test_%' ORDER BY 1"
              )
            ),
            tables: hash(
              await rows(
                'SELECT TABLE_NAME, TABLE_TYPE, ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY 1',
                [main]
              )
            ),
            columns: hash(
              await rows(
                'SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? ORDER BY 1, 2',
                [main]
              )
            ),
            routines: hash(
              await rows('SELECT ROUTINE_SCHEMA, ROUTINE_NAME FROM information_schema.ROUTINES ORDER BY 1, 2')
            ),
            triggers: hash(
              await rows('SELECT TRIGGER_SCHEMA, TRIGGER_NAME FROM information_schema.TRIGGERS ORDER BY 1, 2')
            ),
            events: hash(await rows('SELECT EVENT_SCHEMA, EVENT_NAME FROM information_schema.EVENTS ORDER BY 1, 2')),
            users: hash(
              await rows("SELECT User, Host FROM mysql.user WHERE User NOT LIKE 'sqlbridge_test_%' ORDER BY 1, 2")
            ),
            grants: hash(
              await rows(
                "SELECT GRANTEE, PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES WHERE GRANTEE NOT LIKE '%sqlbridge_test_%' ORDER BY 1, 2"
              )
            ),
            schemaGrants: hash(
              await rows(
                "SELECT GRANTEE, TABLE_SCHEMA, PRIVILEGE_TYPE FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE NOT LIKE '%sqlbridge_test_%' ORDER BY 1, 2, 3"
              )
            ),
            globals: hash(
              await rows(
                "SELECT VARIABLE_NAME, VARIABLE_VALUE FROM information_schema.GLOBAL_VARIABLES WHERE VARIABLE_NAME IN ('READ_ONLY', 'SQL_MODE', 'GENERAL_LOG', 'GENERAL_LOG_FILE', 'MAX_CONNECTIONS', 'EVENT_SCHEDULER', 'LOCAL_INFILE', 'SECURE_FILE_PRIV') ORDER BY 1"
              )
            )
          },
          canary: await rows('SELECT id, value FROM canary ORDER BY id')
        };
      } finally {
        await reader.end();
      }
    },
    drop
  };
}

async function mssqlShop(): Promise<Shop> {
  if (MSSQL_URL === undefined) throw new Error('SQLBRIDGE_TEST_MSSQL_URL is not set');
  const name = `sqlbridge_shop_${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  await mssqlAdmin(undefined, pool => pool.request().batch(`CREATE DATABASE ${name}`));
  await mssqlAdmin(name, async pool => {
    for (const batch of schemaSql('mssql').split(/^GO$/m)) {
      const text = batch.replace(/^--.*$/gm, '').trim();
      if (text !== '') await pool.request().batch(text);
    }
    for (const insert of inserts(i => `@p${i}`)) {
      const request = pool.request();
      insert.values.forEach((value, i) => request.input(`p${i}`, value));
      await request.query(insert.sql.replace('INSERT INTO ', 'INSERT INTO dbo.'));
    }
  });
  const rows = (text: string): Promise<unknown[]> =>
    mssqlAdmin(name, async pool => (await pool.request().query(text)).recordset as unknown[]);
  return {
    engine: 'mssql',
    databaseYaml: `{ engine: mssql, connectionString: ${JSON.stringify(MSSQL_URL)}, database: ${name} }`,
    async snapshot() {
      const tables: Record<string, string> = {};
      for (const table of TABLES) tables[table] = hash(await rows(`SELECT * FROM dbo.${table} ORDER BY 1, 2`));
      return {
        tables,
        catalog: {
          objects: hash(
            await rows(
              'SELECT s.name AS s, o.name, o.type FROM sys.objects o JOIN sys.schemas s ON s.schema_id = o.schema_id WHERE o.is_ms_shipped = 0 ORDER BY 1, 2'
            )
          ),
          columns: hash(
            await rows(
              'SELECT object_id, name, system_type_id, max_length, is_nullable FROM sys.columns WHERE object_id IN (SELECT object_id FROM sys.objects WHERE is_ms_shipped = 0) ORDER BY 1, 2'
            )
          ),
          principals: hash(await rows('SELECT name, type FROM sys.database_principals ORDER BY 1')),
          permissions: hash(
            await rows(
              'SELECT grantee_principal_id, major_id, permission_name, state FROM sys.database_permissions ORDER BY 1, 2, 3'
            )
          ),
          roleMembers: hash(
            await rows('SELECT role_principal_id, member_principal_id FROM sys.database_role_members ORDER BY 1, 2')
          ),
          logins: hash(await rows('SELECT name, type, is_disabled FROM sys.server_principals ORDER BY 1')),
          sequences: hash(
            await rows('SELECT name, CAST(current_value AS nvarchar(40)) AS v FROM sys.sequences ORDER BY 1')
          ),
          database: hash(
            await rows(`SELECT is_read_only, user_access, recovery_model FROM sys.databases WHERE name = DB_NAME()`)
          ),
          configuration: hash(
            await rows('SELECT name, CAST(value_in_use AS nvarchar(100)) AS v FROM sys.configurations ORDER BY 1')
          )
        },
        canary: await rows('SELECT id, value FROM dbo.canary ORDER BY id')
      };
    },
    async drop() {
      await dropMssqlDatabase(name);
    }
  };
}
