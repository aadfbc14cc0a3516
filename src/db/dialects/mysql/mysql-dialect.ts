import type { PrivilegeProbe } from '../../privileges.ts';
import type { Dialect, DialectAdapter } from '../../dialect.ts';
import type { Driver } from '../../driver.ts';
import { LazyDriver } from '../../lazy-driver.ts';
import type { CatalogReader, Introspector } from '../../introspector.ts';
import { MysqlAdapter } from './mysql-adapter.ts';
import { mysqlPoolOptions } from './mysql-config.ts';
import type { MysqlDriverOptions } from './mysql-driver.ts';
import { MysqlIntrospector } from './mysql-introspector.ts';
import { MysqlPrivilegeProbe } from './mysql-privileges.ts';

export class MysqlDialect implements Dialect {
  readonly engine = 'mysql';
  readonly paging = 'page with LIMIT/OFFSET';
  private readonly options: MysqlDriverOptions;

  constructor(options: MysqlDriverOptions) {
    this.options = options;
  }

  createDriver(): Driver {
    const options = this.options;
    return new LazyDriver(async () => new (await import('./mysql-driver.ts')).MysqlDriver(options));
  }

  createAdapter(): DialectAdapter {
    return new MysqlAdapter(mysqlPoolOptions(this.options.database).target.database);
  }

  createIntrospector(catalog: CatalogReader): Introspector {
    return new MysqlIntrospector(catalog);
  }

  createPrivilegeProbe(catalog: CatalogReader): PrivilegeProbe {
    return new MysqlPrivilegeProbe(catalog);
  }
}
