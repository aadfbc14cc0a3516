import type { EnvironmentConfig } from '../config/schema.ts';
import { DemoDatabase } from '../demo/demo-database.ts';
import type { Logger } from '../observability/logger.ts';
import type { Dialect } from './dialect.ts';
import { resolveMssqlSettings } from './dialects/mssql/mssql-config.ts';
import { MssqlDialect } from './dialects/mssql/mssql-dialect.ts';
import { MysqlDialect } from './dialects/mysql/mysql-dialect.ts';
import { PostgresDialect } from './dialects/postgres/postgres-dialect.ts';
import { SqliteDialect } from './dialects/sqlite/sqlite-dialect.ts';

export interface DialectContext {
  /** The environment's name, for messages that name its settings. */
  environment: string;
  /** Where the demo database lives. */
  dataDir: string;
  logger: Logger;
}

type Limits = EnvironmentConfig['limits'];

/** Server-side statement timeouts sit this far behind sqlbridge's own, as a safety net. */
export const SERVER_TIMEOUT_MARGIN_MS = 5000;

/** The dialect for an environment's database configuration. */
export function createDialect(
  environment: Pick<EnvironmentConfig, 'database' | 'readOnly'> &
    Partial<Pick<EnvironmentConfig, 'access'>> & {
      limits: Omit<Limits, 'maxRowBytes'> & Partial<Pick<Limits, 'maxRowBytes'>>;
    },
  context: DialectContext
): Dialect {
  const database = environment.database;
  const statementTimeoutMs = environment.limits.queryTimeoutMs + SERVER_TIMEOUT_MARGIN_MS;
  const { maxRowBytes } = environment.limits;
  const onPoolError = (error: Error): void => {
    context.logger.warn(
      { err: error, engine: database.engine },
      'an idle database connection failed; it is replaced on the next query'
    );
  };
  switch (database.engine) {
    case 'demo':
      return new SqliteDialect({
        path: DemoDatabase.demoPath(context.dataDir),
        readOnly: environment.readOnly,
        pool: database.pool,
        maxRowBytes,
        ...(environment.access === undefined ? {} : { roleTables: environment.access.tables })
      });
    case 'sqlite':
      return new SqliteDialect({
        path: database.path,
        attach: database.attach,
        readOnly: environment.readOnly,
        pool: database.pool,
        maxRowBytes,
        ...(environment.access === undefined ? {} : { roleTables: environment.access.tables })
      });
    case 'postgres':
      return new PostgresDialect({ database, statementTimeoutMs, maxRowBytes, onPoolError });
    case 'mysql':
      return new MysqlDialect({ database, statementTimeoutMs, maxRowBytes });
    case 'mssql': {
      const settings = resolveMssqlSettings(database, `environments.${context.environment}.database`);
      if (settings.trustServerCertificate) {
        context.logger.warn(
          { environment: context.environment },
          'trustServerCertificate is on: the SQL Server certificate is not verified, so a machine in the middle could read the traffic; install the CA instead'
        );
      }
      return new MssqlDialect({
        settings,
        readOnly: environment.readOnly,
        pool: database.pool,
        requestTimeoutMs: statementTimeoutMs,
        maxRowBytes,
        onPoolError,
        onInexactValues: () => {
          context.logger.warn(
            'exact decimal and date/time reading could not be installed in tedious; values beyond 15 digits may be rounded'
          );
        }
      });
    }
  }
}
