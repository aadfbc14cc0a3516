/**
 * Environment variables sqlbridge reads, and the setting each one sets. Two families:
 * - `SQLBRIDGE_*` for server-wide settings and the single environment defined by variables;
 * - the original guide's names (`MSSQL_HOST`, `READ_ONLY_MODE`, …) so its one-container-per-environment
 *   deployments keep working. They define one environment, named by `SQLBRIDGE_ENVIRONMENT`.
 * Every variable can instead be given as `<NAME>_FILE`, the path of a file holding the value (Docker secrets).
 */

export type EnvValueKind = 'string' | 'integer' | 'boolean' | 'list' | 'secret';

export interface EnvVarSpec {
  name: string;
  /** Path below the config root; `$env` stands for the environment named by SQLBRIDGE_ENVIRONMENT. */
  path: readonly string[];
  kind: EnvValueKind;
  description: string;
  /**
   * The engine this variable configures. It becomes the environment's `database.engine` when the file
   * gives the environment none; when the file gives it another engine, the variable is refused
   * (see envLayer), and the configuration reference lists it only under this engine.
   */
  impliesEngine?: 'mssql' | 'postgres' | 'mysql' | 'sqlite';
}

export const ENVIRONMENT_NAME_VARIABLE = 'SQLBRIDGE_ENVIRONMENT';
export const DEFAULT_VARIABLE_ENVIRONMENT = 'default';
export const CONFIG_FILE_VARIABLE = 'SQLBRIDGE_CONFIG';

const env = '$env';

export const ENV_VARS: readonly EnvVarSpec[] = [
  { name: 'SQLBRIDGE_HOST', path: ['server', 'host'], kind: 'string', description: 'Address the HTTP server binds.' },
  { name: 'SQLBRIDGE_PORT', path: ['server', 'port'], kind: 'integer', description: 'HTTP port.' },
  { name: 'SQLBRIDGE_PUBLIC_URL', path: ['server', 'publicUrl'], kind: 'string', description: 'Public base URL.' },
  {
    name: 'SQLBRIDGE_ALLOWED_HOSTS',
    path: ['server', 'allowedHosts'],
    kind: 'list',
    description: 'Comma-separated extra Host header values.'
  },
  {
    name: 'SQLBRIDGE_TRUST_PROXY',
    path: ['server', 'trustProxy'],
    kind: 'list',
    description: 'Comma-separated addresses or CIDR ranges of trusted reverse proxies.'
  },
  {
    name: 'SQLBRIDGE_SHUTDOWN_TIMEOUT_MS',
    path: ['server', 'shutdownTimeoutMs'],
    kind: 'integer',
    description: 'Time running calls get to finish at shutdown.'
  },
  {
    name: 'SQLBRIDGE_KEEP_ALIVE_MS',
    path: ['server', 'keepAliveMs'],
    kind: 'integer',
    description: 'Interval of keep-alive comments on event streams.'
  },
  { name: 'SQLBRIDGE_DATA_DIR', path: ['dataDir'], kind: 'string', description: 'Data directory.' },
  { name: 'SQLBRIDGE_LOG_LEVEL', path: ['logLevel'], kind: 'string', description: 'Log level.' },
  {
    name: 'SQLBRIDGE_AUTH_STORAGE',
    path: ['auth', 'storage'],
    kind: 'secret',
    description: 'Where OAuth state is kept: sqlite, memory, or a redis:// / rediss:// URL.'
  },
  {
    name: 'REDIS_PASSWORD',
    path: ['auth', 'storagePassword'],
    kind: 'secret',
    description: 'Password of the Redis in auth.storage (or REDIS_PASSWORD_FILE).'
  },
  {
    name: 'ALLOWED_REDIRECT_HOSTS',
    path: ['auth', 'allowedRedirectHosts'],
    kind: 'list',
    description: 'Comma-separated hosts OAuth redirect URIs may use.'
  },
  {
    name: 'READ_ONLY_MODE',
    path: [env, 'readOnly'],
    kind: 'boolean',
    description: 'Whether the variable-defined environment is read-only (default true).'
  },
  {
    name: 'SQLBRIDGE_DESCRIPTION',
    path: [env, 'description'],
    kind: 'string',
    description: 'Description of the variable-defined environment.'
  },
  {
    name: 'SQLBRIDGE_QUERY_TIMEOUT_MS',
    path: [env, 'limits', 'queryTimeoutMs'],
    kind: 'integer',
    description: 'Query timeout of the variable-defined environment.'
  },
  {
    name: 'SQLBRIDGE_MAX_ROWS',
    path: [env, 'limits', 'maxRows'],
    kind: 'integer',
    description: 'Row cap of the variable-defined environment.'
  },
  {
    name: 'SQLBRIDGE_SQLITE_PATH',
    path: [env, 'database', 'path'],
    kind: 'string',
    impliesEngine: 'sqlite',
    description: 'SQLite file of the variable-defined environment.'
  },
  {
    name: 'POSTGRES_URL',
    path: [env, 'database', 'url'],
    kind: 'secret',
    impliesEngine: 'postgres',
    description: 'postgres:// URL of the variable-defined environment.'
  },
  {
    name: 'MYSQL_URL',
    path: [env, 'database', 'url'],
    kind: 'secret',
    impliesEngine: 'mysql',
    description: 'mysql:// URL of the variable-defined environment.'
  },
  {
    name: 'MSSQL_CONNECTION_STRING',
    path: [env, 'database', 'connectionString'],
    kind: 'secret',
    impliesEngine: 'mssql',
    description: 'ADO-style SQL Server connection string.'
  },
  {
    name: 'MSSQL_HOST',
    path: [env, 'database', 'host'],
    kind: 'string',
    impliesEngine: 'mssql',
    description: 'SQL Server host.'
  },
  {
    name: 'MSSQL_PORT',
    path: [env, 'database', 'port'],
    kind: 'integer',
    impliesEngine: 'mssql',
    description: 'SQL Server port.'
  },
  {
    name: 'MSSQL_INSTANCE',
    path: [env, 'database', 'instanceName'],
    kind: 'string',
    impliesEngine: 'mssql',
    description: 'SQL Server named instance.'
  },
  {
    name: 'MSSQL_DATABASE',
    path: [env, 'database', 'database'],
    kind: 'string',
    impliesEngine: 'mssql',
    description: 'SQL Server database.'
  },
  {
    name: 'MSSQL_AUTHENTICATION',
    path: [env, 'database', 'authentication'],
    kind: 'string',
    impliesEngine: 'mssql',
    description: 'SQL Server authentication type.'
  },
  {
    name: 'MSSQL_USER',
    path: [env, 'database', 'user'],
    kind: 'string',
    impliesEngine: 'mssql',
    description: 'SQL Server login.'
  },
  {
    name: 'MSSQL_PASSWORD',
    path: [env, 'database', 'password'],
    kind: 'secret',
    impliesEngine: 'mssql',
    description: 'SQL Server password.'
  },
  {
    name: 'MSSQL_DOMAIN',
    path: [env, 'database', 'domain'],
    kind: 'string',
    impliesEngine: 'mssql',
    description: 'Windows domain (NTLM).'
  },
  {
    name: 'MSSQL_ENCRYPT',
    path: [env, 'database', 'encrypt'],
    kind: 'string',
    impliesEngine: 'mssql',
    description: 'mandatory, strict or optional.'
  },
  {
    name: 'TrustServerCertificate',
    path: [env, 'database', 'trustServerCertificate'],
    kind: 'boolean',
    impliesEngine: 'mssql',
    description: 'The original guide’s name: accept an untrusted server certificate.'
  },
  {
    name: 'MSSQL_TRUST_SERVER_CERTIFICATE',
    path: [env, 'database', 'trustServerCertificate'],
    kind: 'boolean',
    impliesEngine: 'mssql',
    description: 'Accept an untrusted server certificate.'
  },
  {
    name: 'AZURE_TENANT_ID',
    path: [env, 'database', 'tenantId'],
    kind: 'string',
    impliesEngine: 'mssql',
    description: 'Entra tenant.'
  },
  {
    name: 'AZURE_CLIENT_ID',
    path: [env, 'database', 'clientId'],
    kind: 'string',
    impliesEngine: 'mssql',
    description: 'Entra client id.'
  },
  {
    name: 'AZURE_CLIENT_SECRET',
    path: [env, 'database', 'clientSecret'],
    kind: 'secret',
    impliesEngine: 'mssql',
    description: 'Entra client secret.'
  }
];

/**
 * Variables of the original guide that sqlbridge accepts but does not need. They are reported, once,
 * at start-up so nobody wonders whether they took effect.
 */
export const IGNORED_ENV_VARS: Readonly<Record<string, string>> = {
  MSSQL_DRIVER: 'sqlbridge talks TDS directly (tedious); no ODBC driver is used',
  Trusted_Connection:
    'integrated Windows authentication is not available from Linux; set MSSQL_AUTHENTICATION=ntlm with MSSQL_DOMAIN, MSSQL_USER and MSSQL_PASSWORD'
};
