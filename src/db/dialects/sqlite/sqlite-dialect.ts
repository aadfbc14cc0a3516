import type { PrivilegeProbe } from '../../privileges.ts';
import type { Dialect, DialectAdapter } from '../../dialect.ts';
import type { Driver } from '../../driver.ts';
import type { CatalogReader, Introspector } from '../../introspector.ts';
import { SqliteAdapter } from './sqlite-adapter.ts';
import { SqliteDriver, type SqliteDriverOptions } from './sqlite-driver.ts';
import { SqliteIntrospector } from './sqlite-introspector.ts';
import { SqlitePrivilegeProbe } from './sqlite-privileges.ts';

export class SqliteDialect implements Dialect {
  readonly engine = 'sqlite';
  readonly paging = 'page with LIMIT/OFFSET';
  private readonly options: SqliteDriverOptions;

  constructor(options: SqliteDriverOptions) {
    this.options = options;
  }

  createDriver(): Driver {
    return new SqliteDriver(this.options);
  }

  createAdapter(): DialectAdapter {
    return new SqliteAdapter();
  }

  createIntrospector(catalog: CatalogReader): Introspector {
    return new SqliteIntrospector(catalog);
  }

  createPrivilegeProbe(_catalog: CatalogReader): PrivilegeProbe {
    return new SqlitePrivilegeProbe(this.options.readOnly);
  }
}
