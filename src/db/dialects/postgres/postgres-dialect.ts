import type { PrivilegeProbe } from '../../privileges.ts';
import type { Dialect, DialectAdapter } from '../../dialect.ts';
import type { Driver } from '../../driver.ts';
import { LazyDriver } from '../../lazy-driver.ts';
import type { CatalogReader, Introspector } from '../../introspector.ts';
import { PostgresAdapter } from './postgres-adapter.ts';
import type { PostgresDatabaseConfig } from './postgres-config.ts';
import { PostgresIntrospector } from './postgres-introspector.ts';
import { PostgresPrivilegeProbe } from './postgres-privileges.ts';

export interface PostgresDialectOptions {
  database: PostgresDatabaseConfig;
  statementTimeoutMs: number;
  maxRowBytes?: number;
  onPoolError?: (error: Error) => void;
}

export class PostgresDialect implements Dialect {
  readonly engine = 'postgres';
  readonly paging = 'page with LIMIT/OFFSET';
  private readonly options: PostgresDialectOptions;

  constructor(options: PostgresDialectOptions) {
    this.options = options;
  }

  createDriver(): Driver {
    const options = this.options;
    return new LazyDriver(async () => new (await import('./postgres-driver.ts')).PostgresDriver(options));
  }

  createAdapter(): DialectAdapter {
    return new PostgresAdapter();
  }

  createIntrospector(catalog: CatalogReader): Introspector {
    return new PostgresIntrospector(catalog);
  }

  createPrivilegeProbe(catalog: CatalogReader): PrivilegeProbe {
    return new PostgresPrivilegeProbe(catalog);
  }
}
