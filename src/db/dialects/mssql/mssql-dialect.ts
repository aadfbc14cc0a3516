import type { PrivilegeProbe } from '../../privileges.ts';
import type { Dialect, DialectAdapter } from '../../dialect.ts';
import type { Driver } from '../../driver.ts';
import { LazyDriver } from '../../lazy-driver.ts';
import type { CatalogReader, Introspector } from '../../introspector.ts';
import { MssqlAdapter } from './mssql-adapter.ts';
import type { MssqlDriverOptions } from './mssql-driver.ts';
import { MssqlIntrospector } from './mssql-introspector.ts';
import { MssqlPrivilegeProbe } from './mssql-privileges.ts';

export class MssqlDialect implements Dialect {
  readonly engine = 'mssql';
  // T-SQL has no LIMIT: TOP, or OFFSET … FETCH, which needs an ORDER BY
  // (https://learn.microsoft.com/sql/t-sql/queries/select-order-by-clause-transact-sql#using-offset-and-fetch-to-limit-the-rows-returned).
  readonly paging = 'page with ORDER BY … OFFSET n ROWS FETCH NEXT m ROWS ONLY (or take the first rows with TOP (n))';
  private readonly options: MssqlDriverOptions;

  constructor(options: MssqlDriverOptions) {
    this.options = options;
  }

  createDriver(): Driver {
    const options = this.options;
    return new LazyDriver(async () => new (await import('./mssql-driver.ts')).MssqlDriver(options));
  }

  createAdapter(): DialectAdapter {
    return new MssqlAdapter();
  }

  createIntrospector(catalog: CatalogReader): Introspector {
    return new MssqlIntrospector(catalog);
  }

  createPrivilegeProbe(catalog: CatalogReader): PrivilegeProbe {
    return new MssqlPrivilegeProbe(catalog);
  }
}
