import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, type CliOverrides } from '../../src/config/load.ts';
import { assertHttpExposureAllowed } from '../../src/config/policy.ts';
import { ConfigError } from '../../src/errors/config-error.ts';
import { emptyDir } from '../helpers/data-dir.ts';

interface Case {
  name: string;
  file?: string | Buffer;
  env?: Record<string, string>;
  cli?: CliOverrides;
  message: string;
}

function load(options: { file?: string | Buffer; env?: Record<string, string>; cli?: CliOverrides; demo?: boolean }) {
  const dir = emptyDir('config-');
  const cli: CliOverrides = { ...options.cli };
  if (options.file !== undefined) {
    const path = join(dir, 'sqlbridge.yaml');
    writeFileSync(path, options.file);
    cli.config = path;
  }
  return { dir, loaded: loadConfig({ cli, env: options.env ?? {}, cwd: dir, demo: options.demo ?? false }) };
}

function messageOf(options: Case): string {
  try {
    load(options);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message.replace(/\/\S*sqlbridge\.yaml/g, 'FILE');
  }
  throw new Error('expected a ConfigError');
}

/** Each mistake must produce one message naming the exact setting, where it came from and what is wrong. */
const MISTAKES: Case[] = [
  {
    name: 'a database URL whose password holds an unencoded slash',
    file: 'environments:\n  p:\n    database: { engine: postgres, url: "postgres://app:42/Sl4shSecret@db:5432/sales" }\n',
    message:
      'invalid configuration: environments.p.database.url (from FILE): the URL has an `@` after its host: a password holding `/`, `?` or `#` must be percent-encoded (`%2F`, `%3F`, `%23`)'
  },
  {
    name: 'a database URL that does not parse',
    file: 'environments:\n  p:\n    database: { engine: mysql, url: "mysql://u:p#Secr3t@db/shop" }\n',
    message:
      'invalid configuration: environments.p.database.url (from FILE): is not a URL; in its user name and password, percent-encode `@`, `:`, `/`, `?`, `#` and `%`'
  },
  {
    name: 'a database URL of another scheme',
    file: 'environments:\n  p:\n    database: { engine: postgres, url: "https://db.example/sales" }\n',
    message:
      "invalid configuration: environments.p.database.url (from FILE): the URL's scheme must be postgres:// or postgresql://"
  },
  {
    name: 'a mistyped Redis URL holding a password',
    env: { SQLBRIDGE_AUTH_STORAGE: 'redis//:EnvRedisPassw0rd@127.0.0.1' },
    file: 'environments:\n  p:\n    database: { engine: sqlite, path: x.db }\n',
    message:
      'invalid configuration: auth.storage (from SQLBRIDGE_AUTH_STORAGE): a redis:// or rediss:// URL, or sqlite, or memory; got a value (not shown: it may hold a password)'
  },
  {
    name: 'a mistyped Redis URL with its password as a parameter',
    env: { SQLBRIDGE_AUTH_STORAGE: 'redis:/127.0.0.1:6379/0?password=ParamRedisPassw0rd' },
    file: 'environments:\n  p:\n    database: { engine: sqlite, path: x.db }\n',
    message:
      'invalid configuration: auth.storage (from SQLBRIDGE_AUTH_STORAGE): a redis:// or rediss:// URL, or sqlite, or memory; got a value (not shown: it may hold a password)'
  },
  {
    name: 'a mistyped Redis URL whose password holds a space',
    env: { SQLBRIDGE_AUTH_STORAGE: 'rediss//:my SpacedPassw0rd@127.0.0.1' },
    file: 'environments:\n  p:\n    database: { engine: sqlite, path: x.db }\n',
    message:
      'invalid configuration: auth.storage (from SQLBRIDGE_AUTH_STORAGE): a redis:// or rediss:// URL, or sqlite, or memory; got a value (not shown: it may hold a password)'
  },
  {
    name: 'a MySQL URL whose password holds a % that starts no escape',
    file: 'environments:\n  p:\n    database: { engine: mysql, url: "mysql://u:Sec%zzret@db/shop" }\n',
    message:
      "invalid configuration: environments.p.database.url (from FILE): a `%` in the URL's user name, password or database starts no escape: write a `%` itself as `%25`"
  },
  {
    name: 'an audit file that is the demo database',
    file: 'audit: { file: { path: demo.sqlite } }\nenvironments:\n  p:\n    database: { engine: sqlite, path: x.db }\n',
    message:
      'invalid configuration: audit.file.path (from FILE): is the demo database; give the audit trail a file of its own'
  },
  {
    name: 'an audit file that is an environment’s SQLite database',
    file: 'dataDir: .\naudit: { file: { path: x.db } }\nenvironments:\n  p:\n    database: { engine: sqlite, path: x.db }\n',
    message:
      'invalid configuration: audit.file.path (from FILE): is the SQLite database of environment p; give the audit trail a file of its own'
  },
  {
    name: 'an audit file among the OAuth state',
    file: 'audit: { file: { path: auth/audit.jsonl } }\nenvironments:\n  p:\n    database: { engine: sqlite, path: x.db }\n',
    message:
      'invalid configuration: audit.file.path (from FILE): is inside the data directory’s auth folder, which holds the OAuth state'
  },
  {
    name: 'a top-level key __proto__',
    file: '__proto__:\n  polluted: true\nenvironments:\n  p:\n    database: { engine: sqlite, path: x.db }\n',
    message:
      'invalid configuration: __proto__ (from FILE): is not a setting or a name sqlbridge accepts (`__proto__` is reserved)'
  },
  {
    name: 'an environment named __proto__ in the file',
    file: 'environments:\n  __proto__:\n    database: { engine: sqlite, path: x.db }\n',
    message:
      'invalid configuration: environments.__proto__ (from FILE): is not a setting or a name sqlbridge accepts (`__proto__` is reserved)'
  },
  {
    name: 'an environment named __proto__ by a variable',
    env: { SQLBRIDGE_ENVIRONMENT: '__proto__', POSTGRES_URL: 'postgres://reader@db/sales', SQLBRIDGE_MAX_ROWS: '5' },
    message:
      'invalid configuration: environments.__proto__ (from SQLBRIDGE_ENVIRONMENT): is not a setting or a name sqlbridge accepts (`__proto__` is reserved)'
  },
  {
    name: 'an identity source that is not the user, the client or an attribute',
    file: 'environments:\n  p:\n    database: { engine: sqlite, path: x.db }\n    identity: { department: password }\n',
    message:
      'invalid configuration: environments.p.identity.department (from FILE): expected `sub`, `client_id` or `attributes.<name>`; got the text "password"'
  },
  {
    name: 'a session key too long for a MySQL user variable',
    file: `environments:\n  p:\n    database: { engine: mysql, host: db }\n    identity: { ${'k'.repeat(55)}: sub }\n`,
    message: `invalid configuration: environments.p.identity.${'k'.repeat(55)} (from FILE): a session key has at most 54 characters on MySQL/MariaDB (user variable names end at 64)`
  },
  {
    name: 'an audit mode that does not exist',
    file: 'environments:\n  p:\n    database: { engine: sqlite, path: x.db }\n    audit: { onFailure: ignore }\n',
    message:
      'invalid configuration: environments.p.audit.onFailure (from FILE): must be one of "continue", "block"; got the text "ignore"'
  },
  {
    name: 'a PostgreSQL audit table without its URL',
    file: 'audit:\n  database: { engine: postgres }\n',
    message: 'invalid configuration: audit.database.url (from FILE): a PostgreSQL audit table needs `url`'
  },
  {
    name: 'a port that is not a number, in the file',
    file: 'server:\n  port: eighty\n',
    message: 'invalid configuration: server.port (from FILE): expected a number, got the text "eighty"'
  },
  {
    name: 'a port out of range, from the original guide’s variable',
    env: { MSSQL_HOST: 'db', MSSQL_PORT: '70000' },
    message:
      'invalid configuration: environments.default.database.port (from MSSQL_PORT): must be at most 65535, got 70000'
  },
  {
    name: 'a SQL Server variable aimed at an environment the file gives another engine',
    file: 'environments:\n  production:\n    database: { engine: postgres, host: pg.internal }\n',
    env: { SQLBRIDGE_ENVIRONMENT: 'production', MSSQL_HOST: 'sql.internal' },
    message:
      'invalid configuration: environments.production.database.engine (from MSSQL_HOST): MSSQL_HOST configures "mssql" but the file gives this environment "postgres"; unset MSSQL_HOST or point SQLBRIDGE_ENVIRONMENT at another environment'
  },
  {
    name: 'a misspelt setting',
    file: 'environments:\n  prod:\n    readOnly: true\n    databse:\n      engine: sqlite\n      path: x.db\n',
    message:
      'invalid configuration (2 problems):\n  - environments.prod.database (from FILE): is required\n  - environments.prod.databse (from FILE): unknown setting; did you mean "database"?'
  },
  {
    name: 'an unknown engine',
    file: 'environments:\n  prod:\n    database:\n      engine: oracle\n',
    message:
      'invalid configuration: environments.prod.database.engine (from FILE): must be one of "demo", "sqlite", "postgres", "mysql", "mssql"; got the text "oracle"'
  },
  {
    name: 'a missing engine',
    file: 'environments:\n  prod:\n    database:\n      path: x.db\n',
    message:
      'invalid configuration: environments.prod.database.engine (from FILE): is required: one of "demo", "sqlite", "postgres", "mysql", "mssql"'
  },
  {
    name: 'an environment name with capitals',
    file: 'environments:\n  Prod:\n    database: { engine: demo }\n',
    message:
      'invalid configuration: environments.Prod (from FILE): invalid name "Prod": an environment name starts with a lowercase letter and has only a-z, 0-9, "-" and "_" (at most 63 characters)'
  },
  {
    name: 'a reserved environment name',
    file: 'environments:\n  healthz:\n    database: { engine: demo }\n',
    message:
      'invalid configuration: environments.healthz (from FILE): invalid name "healthz": this environment name is reserved'
  },
  {
    name: 'READ_ONLY_MODE that is not a boolean',
    env: { MSSQL_HOST: 'db', READ_ONLY_MODE: 'sometimes' },
    message:
      'invalid configuration: environments.default.readOnly (from READ_ONLY_MODE): expected true or false, got "sometimes"'
  },
  {
    name: 'an unknown log level on the command line',
    cli: { logLevel: 'verbose' },
    message:
      'invalid configuration: logLevel (from --log-level): must be one of "fatal", "error", "warn", "info", "debug", "trace", "silent"; got the text "verbose"'
  },
  {
    name: 'a --port that is not a number',
    cli: { port: 'http' },
    message: 'invalid configuration: server.port (from --port): expected a whole number, got "http"'
  },
  {
    name: 'a row limit of zero',
    file: 'environments:\n  prod:\n    database: { engine: demo }\n    limits:\n      maxRows: 0\n',
    message: 'invalid configuration: environments.prod.limits.maxRows (from FILE): must be at least 1, got 0'
  },
  {
    name: 'a query timeout above what a Claude tool call allows',
    file: 'environments:\n  prod:\n    database: { engine: demo }\n    limits: { queryTimeoutMs: 600000 }\n',
    message:
      'invalid configuration: environments.prod.limits.queryTimeoutMs (from FILE): must be at most 290000, got 600000'
  },
  {
    name: 'a SQL Server encryption mode that does not exist',
    env: { MSSQL_HOST: 'db', MSSQL_ENCRYPT: 'sometimes' },
    message:
      'invalid configuration: environments.default.database.encrypt (from MSSQL_ENCRYPT): must be one of "mandatory", "strict", "optional"; got the text "sometimes"'
  },
  {
    name: 'variables configuring two engines for one environment',
    env: { MSSQL_HOST: 'db', POSTGRES_URL: 'postgres://db/x' },
    message:
      'invalid configuration: environments.default.database.engine: POSTGRES_URL configures postgres but MSSQL_HOST configures mssql; one environment has one database'
  },
  {
    name: 'a password given twice',
    env: { MSSQL_HOST: 'db', MSSQL_PASSWORD: 'a', MSSQL_PASSWORD_FILE: '/run/secrets/pw' },
    message: 'invalid configuration: MSSQL_PASSWORD: both MSSQL_PASSWORD and MSSQL_PASSWORD_FILE are set; set only one'
  },
  {
    name: 'a secret file that cannot be read',
    env: { MSSQL_HOST: 'db', MSSQL_PASSWORD_FILE: '/nonexistent/secret' },
    message:
      'invalid configuration: MSSQL_PASSWORD_FILE: cannot read the file /nonexistent/secret: the file does not exist'
  },
  {
    name: 'a secret file that is a device',
    env: { MSSQL_HOST: 'db', MSSQL_PASSWORD_FILE: '/dev/zero' },
    message: 'invalid configuration: MSSQL_PASSWORD_FILE: cannot read the file /dev/zero: not a regular file'
  },
  {
    name: 'a configuration file that is a device',
    cli: { config: '/dev/zero' },
    message: 'invalid configuration: config (from --config / SQLBRIDGE_CONFIG): not a regular file: /dev/zero'
  },
  {
    name: 'a configuration file that is not UTF-8',
    file: Buffer.from('environments:\n  p:\n    description: caf\xe9\n', 'latin1'),
    message: 'invalid configuration: config (from --config / SQLBRIDGE_CONFIG): the file is not UTF-8 text: FILE'
  },
  {
    name: 'a configuration file over 1 MiB',
    file: `# ${'x'.repeat(1024 * 1024)}\n`,
    message: `invalid configuration: config (from --config / SQLBRIDGE_CONFIG): the file holds ${1024 * 1024 + 3} bytes, more than the 1048576 a settings file may: FILE`
  },
  {
    name: 'a file referring to an unset variable',
    file: 'environments:\n  prod:\n    database:\n      engine: postgres\n      password: ${PROD_DB_PASSWORD}\n',
    message:
      'invalid configuration: environments.prod.database.password (from FILE): refers to ${PROD_DB_PASSWORD}, which is not set'
  },
  {
    name: 'a file that is not YAML',
    file: 'server:\n  port: 8008\n   host: x\n',
    message:
      'invalid configuration: config: FILE is not valid YAML at line 2, column 9: Nested mappings are not allowed in compact mappings'
  },
  {
    name: 'a YAML alias to the mapping that contains it',
    file: 'environments: &all\n  prod:\n    database: { engine: demo }\n    again: *all\n',
    message:
      'invalid configuration: environments.prod.again (from FILE): is a YAML alias to a mapping or list that contains it; a setting cannot hold itself'
  },
  {
    name: 'a YAML alias to the list that contains it',
    file: 'server:\n  trustProxy: &proxies [127.0.0.1, *proxies]\n',
    message:
      'invalid configuration: server.trustProxy.1 (from FILE): is a YAML alias to a mapping or list that contains it; a setting cannot hold itself'
  },
  {
    name: 'a proxy given by host name (it is known by the address its connection comes from)',
    file: 'server:\n  trustProxy: [127.0.0.1, nginx]\n',
    message:
      'invalid configuration: server.trustProxy.1 (from FILE): expected an IP address, a CIDR range (10.0.0.0/8) or loopback, linklocal, uniquelocal'
  },
  {
    name: 'a proxy range longer than its address',
    file: 'server:\n  trustProxy: [10.0.0.0/33]\n',
    message:
      'invalid configuration: server.trustProxy.0 (from FILE): expected an IP address, a CIDR range (10.0.0.0/8) or loopback, linklocal, uniquelocal'
  },
  {
    name: 'YAML aliases that expand without bound (a billion laughs)',
    file:
      'dataDir: /tmp/x\na0: &a0 [x, x, x, x, x, x, x, x, x]\n' +
      Array.from({ length: 11 }, (_, i) => `a${i + 1}: &a${i + 1} [${Array(9).fill(`*a${i}`).join(', ')}]\n`).join(''),
    message:
      'invalid configuration: config: FILE cannot be read as settings: Excessive alias count indicates a resource exhaustion attack'
  },
  {
    name: 'a file that is a list, not settings',
    file: '- a\n- b\n',
    message: 'invalid configuration: config: FILE must hold a YAML mapping (settings by name), not a list'
  },
  {
    name: 'integrated Windows authentication, which cannot work from Linux',
    env: { MSSQL_HOST: 'db', Trusted_Connection: 'yes' },
    message:
      'invalid configuration: Trusted_Connection (from Trusted_Connection): integrated Windows authentication is not available from Linux; set MSSQL_AUTHENTICATION=ntlm with MSSQL_DOMAIN, MSSQL_USER and MSSQL_PASSWORD'
  },
  {
    name: 'a public URL that is not http(s)',
    env: { SQLBRIDGE_PUBLIC_URL: 'ftp://data.example.com' },
    message:
      'invalid configuration: server.publicUrl (from SQLBRIDGE_PUBLIC_URL): must be an http:// or https:// URL, got the text "ftp://data.example.com"'
  },
  {
    name: 'a public URL with a path',
    env: { SQLBRIDGE_PUBLIC_URL: 'https://data.example.com/sqlbridge' },
    message:
      'invalid configuration: server.publicUrl (from SQLBRIDGE_PUBLIC_URL): the public URL is an origin (scheme, host and port) without a path'
  }
];

describe('configuration errors', () => {
  it.each(MISTAKES.map(c => [c.name, c] as const))('%s', (_name, mistake) => {
    expect(messageOf(mistake)).toBe(mistake.message);
  });

  it('never lets a key __proto__ reach Object.prototype, and loads the next configuration as before', () => {
    const before = Object.getOwnPropertyNames(Object.prototype).sort();
    for (const mistake of MISTAKES.filter(c => c.name.includes('__proto__'))) messageOf(mistake);
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(before);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(({} as Record<string, unknown>)['database']).toBeUndefined();
    const { loaded } = load({ file: 'environments:\n  p:\n    database: { engine: sqlite, path: x.db }\n' });
    expect(Object.keys(loaded.config.environments)).toEqual(['p']);
  });

  it('never repeats a secret in a message', () => {
    const message = messageOf({
      name: 'secret',
      file: 'environments:\n  p:\n    database: { engine: postgres, password: 12345 }\n',
      message: ''
    });
    expect(message).toContain('environments.p.database.password');
    expect(message).toContain('not shown');
    expect(message).not.toContain('12345');
  });

  it('refuses to serve HTTP beyond loopback without authentication', () => {
    const { loaded } = load({ cli: { host: '0.0.0.0', noAuth: true }, demo: true });
    expect(() => assertHttpExposureAllowed(loaded.config)).toThrow(
      'invalid configuration: auth.enabled: refusing to serve on 0.0.0.0 without authentication'
    );
    for (const host of ['127.0.0.1', '127.0.0.53', '::1', '[::1]', 'localhost']) {
      const config = load({ cli: { host, noAuth: true }, demo: true }).loaded.config;
      expect(() => assertHttpExposureAllowed(config), host).not.toThrow();
    }
  });

  it('refuses to serve OAuth beyond loopback without an https public URL', () => {
    const withoutUrl = load({ cli: { host: '0.0.0.0' }, demo: true }).loaded.config;
    expect(() => assertHttpExposureAllowed(withoutUrl)).toThrow(
      'invalid configuration: server.publicUrl: serving on 0.0.0.0 needs the https URL clients reach sqlbridge at'
    );
    const plainHttp = load({
      cli: { host: '0.0.0.0' },
      env: { SQLBRIDGE_PUBLIC_URL: 'http://data.example.com' },
      demo: true
    });
    expect(() => assertHttpExposureAllowed(plainHttp.loaded.config)).toThrow('expected an https URL');
    const https = load({
      cli: { host: '0.0.0.0' },
      env: { SQLBRIDGE_PUBLIC_URL: 'https://data.example.com' },
      demo: true
    });
    expect(() => assertHttpExposureAllowed(https.loaded.config)).not.toThrow();
  });
});

describe('configuration sources', () => {
  it('applies defaults, then the file, then variables, then flags', () => {
    const file = 'server:\n  host: 127.0.0.2\n  port: 9000\nlogLevel: debug\ndataDir: ./state\n';
    const { dir, loaded } = load({
      file,
      env: { SQLBRIDGE_PORT: '9100', SQLBRIDGE_LOG_LEVEL: 'warn' },
      cli: { logLevel: 'error' }
    });
    expect(loaded.config.server).toMatchObject({ host: '127.0.0.2', port: 9100, maxRequestBodyBytes: 1048576 });
    expect(loaded.config.logLevel).toBe('error');
    expect(loaded.config.dataDir).toBe(join(dir, 'state'));
    expect(Object.isFrozen(loaded.config.server)).toBe(true);
  });

  it('reads a YAML alias as a copy of what its anchor holds', () => {
    const file =
      'environments:\n  a:\n    database: { engine: demo }\n    limits: &limits { maxRows: 50, queryTimeoutMs: 9000 }\n' +
      '  b:\n    database: { engine: demo }\n    limits: *limits\n';
    const { loaded } = load({ file });
    const { a, b } = loaded.config.environments;
    expect(a?.limits).toMatchObject({ maxRows: 50, queryTimeoutMs: 9000 });
    expect(b?.limits).toEqual(a?.limits);
    expect(b?.limits).not.toBe(a?.limits);
  });

  it('serves the edge with the defaults the README states', () => {
    const { loaded } = load({ demo: true });
    expect(loaded.config.server).toMatchObject({
      keepAliveMs: 15_000,
      shutdownTimeoutMs: 10_000,
      trustProxy: [],
      legacySse: { maxStreams: 1000, maxStreamsPerUser: 10 }
    });
    const tuned = load({ demo: true, env: { SQLBRIDGE_SHUTDOWN_TIMEOUT_MS: '2500', SQLBRIDGE_KEEP_ALIVE_MS: '5000' } });
    expect(tuned.loaded.config.server).toMatchObject({ keepAliveMs: 5000, shutdownTimeoutMs: 2500 });
  });

  it('requires the public URL when a trusted proxy may forward headers', () => {
    const { loaded } = load({ demo: true, env: { SQLBRIDGE_TRUST_PROXY: '127.0.0.1' } });
    expect(() => assertHttpExposureAllowed(loaded.config)).toThrow(
      /^invalid configuration: server\.publicUrl: .*never from forwarded headers/
    );
    const withUrl = load({
      demo: true,
      env: { SQLBRIDGE_TRUST_PROXY: '127.0.0.1', SQLBRIDGE_PUBLIC_URL: 'https://data.example.com' }
    });
    expect(() => assertHttpExposureAllowed(withUrl.loaded.config)).not.toThrow();
  });

  it('builds one environment from the original guide’s variables', () => {
    const { loaded } = load({
      env: {
        SQLBRIDGE_ENVIRONMENT: 'production',
        MSSQL_HOST: 'sql.internal',
        MSSQL_USER: 'claude_reader',
        MSSQL_PASSWORD: 's3cret',
        MSSQL_DATABASE: 'Sales',
        READ_ONLY_MODE: 'false',
        TrustServerCertificate: 'yes',
        ALLOWED_REDIRECT_HOSTS: 'claude.ai, claude.com'
      }
    });
    expect(loaded.config.environments['production']).toMatchObject({
      readOnly: false,
      database: {
        engine: 'mssql',
        host: 'sql.internal',
        user: 'claude_reader',
        password: 's3cret',
        database: 'Sales',
        trustServerCertificate: true
      },
      limits: { maxRows: 1000, queryTimeoutMs: 30_000 }
    });
    expect(loaded.config.auth.allowedRedirectHosts).toEqual(['claude.ai', 'claude.com']);
  });

  it('lets a variable override a setting of the file’s environment of the same engine', () => {
    const { loaded } = load({
      file: 'environments:\n  production:\n    database: { engine: postgres, host: pg.internal, user: reader }\n',
      env: { SQLBRIDGE_ENVIRONMENT: 'production', POSTGRES_URL: 'postgres://pg.replica:5433/sales' }
    });
    expect(loaded.config.environments['production']?.database).toMatchObject({
      engine: 'postgres',
      host: 'pg.internal',
      user: 'reader',
      url: 'postgres://pg.replica:5433/sales'
    });
  });

  it('reads secrets from *_FILE variables, without the trailing newline', () => {
    const dir = emptyDir('secret-');
    const secret = join(dir, 'password');
    writeFileSync(secret, 'from-a-file\n');
    const { loaded } = load({ env: { MSSQL_HOST: 'db', MSSQL_PASSWORD_FILE: secret } });
    const database = loaded.config.environments['default']?.database;
    expect(database?.engine === 'mssql' ? database.password : undefined).toBe('from-a-file');
  });

  it('fills ${VAR} and ${VAR:-default} in the file from the environment', () => {
    const file =
      'environments:\n  prod:\n    database:\n      engine: postgres\n      host: ${DB_HOST:-localhost}\n      password: ${DB_PASSWORD}\n';
    const { loaded } = load({ file, env: { DB_PASSWORD: 'p@ss' } });
    expect(loaded.config.environments['prod']?.database).toMatchObject({
      host: 'localhost',
      password: 'p@ss',
      tls: 'verify-full'
    });
  });

  it('fills ${VAR} from the file VAR_FILE names (a secret), and refuses both at once or an unreadable file', () => {
    const file =
      'environments:\n  prod:\n    database:\n      engine: postgres\n      host: db\n      password: ${DB_PASSWORD}\n';
    const secretDir = emptyDir('config-secret-');
    const secret = join(secretDir, 'db_password');
    writeFileSync(secret, 'from-a-secret\n');
    const { loaded } = load({ file, env: { DB_PASSWORD_FILE: secret } });
    expect(loaded.config.environments['prod']?.database).toMatchObject({ password: 'from-a-secret' });
    expect(() => load({ file, env: { DB_PASSWORD_FILE: secret, DB_PASSWORD: 'x' } })).toThrow(
      'both DB_PASSWORD and DB_PASSWORD_FILE are set; set only one'
    );
    expect(() => load({ file, env: { DB_PASSWORD_FILE: join(secretDir, 'missing') } })).toThrow(
      `cannot read the file ${join(secretDir, 'missing')}`
    );
  });

  it('resolves a SQLite path against the configuration file’s directory', () => {
    const { dir, loaded } = load({
      file: 'environments:\n  local:\n    database: { engine: sqlite, path: db/app.sqlite }\n'
    });
    expect(loaded.config.environments['local']?.database).toMatchObject({ path: join(dir, 'db/app.sqlite') });
  });

  it('replaces the environments with the demo in demo mode', () => {
    const { loaded } = load({ env: { MSSQL_HOST: 'db' }, demo: true });
    expect(Object.keys(loaded.config.environments)).toEqual(['demo']);
    expect(loaded.config.environments['demo']).toMatchObject({
      readOnly: true,
      database: { engine: 'demo', liveFeed: true }
    });
  });

  it('notes a SQLBRIDGE_ variable it does not read, naming the one probably meant, unless the file refers to it', () => {
    const file = 'server:\n  publicUrl: https://${SQLBRIDGE_DOMAIN}\n';
    const { loaded } = load({
      file,
      env: {
        SQLBRIDGE_MAX_ROW: '5',
        SQLBRIDGE_DOMAIN: 'data.example.com',
        SQLBRIDGE_PORT: '9000',
        SQLBRIDGE_WHATEVER: 'x'
      }
    });
    expect(loaded.notices).toEqual([
      'SQLBRIDGE_MAX_ROW is set but is not a variable sqlbridge reads; did you mean SQLBRIDGE_MAX_ROWS?',
      'SQLBRIDGE_WHATEVER is set but is not a variable sqlbridge reads'
    ]);
    expect(loaded.config.server.port).toBe(9000);
  });

  it('notes a _FILE twin of a variable read as it is (the configuration file, the environment name)', () => {
    const port = join(emptyDir('config-file-twin-'), 'port');
    writeFileSync(port, '9000\n');
    const { loaded } = load({ env: { SQLBRIDGE_CONFIG_FILE: '/run/secrets/config', SQLBRIDGE_PORT_FILE: port } });
    expect(loaded.notices).toEqual([
      'SQLBRIDGE_CONFIG_FILE is set but is not a variable sqlbridge reads: give SQLBRIDGE_CONFIG itself'
    ]);
    // A variable that has a _FILE twin is read from it, and not noted.
    expect(loaded.config.server.port).toBe(9000);
  });

  it('notes variables of the original guide that it does not need', () => {
    const { loaded } = load({
      env: { MSSQL_HOST: 'db', MSSQL_DRIVER: 'ODBC Driver 18 for SQL Server', Trusted_Connection: 'no' }
    });
    expect(loaded.notices).toEqual([
      'MSSQL_DRIVER is ignored: sqlbridge talks TDS directly (tedious); no ODBC driver is used'
    ]);
  });
});
