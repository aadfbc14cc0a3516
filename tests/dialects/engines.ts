import type { EngineSpec } from './engine.ts';
import { MSSQL_URL, mssqlEngine } from './engines/mssql.ts';
import { mysqlEngine } from './engines/mysql.ts';
import { postgres } from './engines/postgres.ts';
import { sqlite } from './engines/sqlite.ts';

/**
 * The engines the dialect suite runs against: SQLite, PostgreSQL and MySQL/MariaDB by default (the
 * servers of this project's machines), SQL Server when SQLBRIDGE_TEST_MSSQL_URL is set.
 * SQLBRIDGE_TEST_ENGINES narrows the list (e.g. `sqlite,postgres`).
 */
const ALL: Record<string, EngineSpec> = { sqlite, postgres, mysql: mysqlEngine, mssql: mssqlEngine };

function selected(): EngineSpec[] {
  const requested = process.env['SQLBRIDGE_TEST_ENGINES']
    ?.split(',')
    .map(s => s.trim())
    .filter(Boolean);
  const names = requested ?? ['sqlite', 'postgres', 'mysql', ...(MSSQL_URL === undefined ? [] : ['mssql'])];
  return names.map(name => {
    const spec = ALL[name];
    if (spec === undefined) throw new Error(`SQLBRIDGE_TEST_ENGINES names an unknown engine: ${name}`);
    return spec;
  });
}

export const ENGINES = selected();

if (MSSQL_URL === undefined) {
  process.stderr.write(
    'SQL Server was not run: set SQLBRIDGE_TEST_MSSQL_URL to a SQL Server connection string to include it.\n'
  );
}
