import { isIP, isIPv4 } from 'node:net';
import { MSSQL_SCHEMA, parse } from '@tediousjs/connection-string';
import type { config as MssqlConfig } from 'mssql';
import type { DatabaseConfig } from '../../../config/schema.ts';
import { ConfigError, type ConfigProblem } from '../../../errors/config-error.ts';
import { DEFAULT_MAX_ROW_BYTES } from '../../row-size.ts';

export type MssqlDatabaseConfig = Extract<DatabaseConfig, { engine: 'mssql' }>;

/** What the settings and the connection string resolve to, before they become driver options. */
export interface MssqlSettings {
  host: string;
  port: number | undefined;
  instanceName: string | undefined;
  database: string | undefined;
  authentication: MssqlDatabaseConfig['authentication'];
  user: string | undefined;
  password: string | undefined;
  domain: string | undefined;
  tenantId: string | undefined;
  clientId: string | undefined;
  clientSecret: string | undefined;
  accessToken: string | undefined;
  encrypt: NonNullable<MssqlDatabaseConfig['encrypt']>;
  trustServerCertificate: boolean;
  /** The name the certificate is checked against when it is not the host (`HostNameInCertificate=`). */
  hostNameInCertificate: string | undefined;
  connectTimeoutMs: number;
  multiSubnetFailover: boolean;
}

/**
 * Reads an ADO-style connection string (https://learn.microsoft.com/dotnet/api/system.data.sqlclient.sqlconnection.connectionstring)
 * and lets discrete settings override its parts. `Server=tcp:host\instance,port` is split into its
 * parts; `Authentication=Active Directory …` names an Entra ID method. Problems are reported with the
 * setting they concern, under `prefix` (e.g. `environments.prod.database`).
 */
export function resolveMssqlSettings(db: MssqlDatabaseConfig, prefix: string): MssqlSettings {
  const raw = db.connectionString === undefined ? new Map<string, string>() : parse(db.connectionString);
  const typed = (db.connectionString === undefined ? {} : parse(db.connectionString).toSchema(MSSQL_SCHEMA)) as Record<
    string,
    unknown
  >;
  const text = (key: string): string | undefined =>
    typeof typed[key] === 'string' && typed[key] !== '' ? typed[key] : undefined;
  const problems: ConfigProblem[] = [];

  const server = parseDataSource(text('data source'));
  const host = db.host ?? server.host;
  const fromString = authenticationFromString(text('authentication'), problems, prefix);
  const settings: MssqlSettings = {
    host: host ?? '',
    port: db.port ?? server.port,
    instanceName: db.instanceName ?? server.instanceName,
    database: db.database ?? text('initial catalog'),
    authentication: db.authentication !== 'sql' ? db.authentication : (fromString ?? 'sql'),
    user: db.user ?? text('user id'),
    password: db.password ?? text('password'),
    domain: db.domain,
    tenantId: db.tenantId,
    clientId: db.clientId ?? (fromString?.startsWith('entra-') === true ? text('user id') : undefined),
    clientSecret: db.clientSecret ?? (fromString === 'entra-service-principal' ? text('password') : undefined),
    accessToken: db.accessToken,
    encrypt: db.encrypt ?? encryptFromString(raw.get('encrypt')) ?? 'mandatory',
    trustServerCertificate: db.trustServerCertificate ?? typed['trustservercertificate'] === true,
    hostNameInCertificate: nonEmpty(raw.get('hostnameincertificate')),
    connectTimeoutMs:
      db.connectTimeoutMs ??
      (typeof typed['connection timeout'] === 'number' ? typed['connection timeout'] * 1000 : 15_000),
    multiSubnetFailover: typed['multisubnetfailover'] === true
  };
  if (typed['integrated security'] === true || /^(sspi|true|yes)$/i.test(raw.get('integrated security') ?? '')) {
    problems.push({
      setting: `${prefix}.connectionString`,
      problem:
        'Integrated Security (Windows authentication of the current user) is not available from Linux; use authentication: ntlm with domain, user and password'
    });
  }
  if (settings.host === '')
    problems.push({ setting: `${prefix}.host`, problem: 'is required (or give Server= in connectionString)' });
  requireFor(settings, problems, prefix);
  if (problems.length > 0) throw new ConfigError(problems);
  return settings;
}

/** `tcp:host\instance,port`, `host,port`, `(local)`, `np:…` (named pipes are not available). */
export function parseDataSource(value: string | undefined): { host?: string; port?: number; instanceName?: string } {
  if (value === undefined) return {};
  let rest = value.trim().replace(/^tcp:/i, '');
  let port: number | undefined;
  const comma = rest.lastIndexOf(',');
  if (comma >= 0) {
    port = Number(rest.slice(comma + 1).trim());
    rest = rest.slice(0, comma);
  }
  const [hostPart, named] = rest.split('\\');
  const host = hostPart === '(local)' || hostPart === '.' ? 'localhost' : hostPart;
  const hasPort = port !== undefined && !Number.isNaN(port);
  // `host\instance,port`: the port is used and the instance name ignored, as Microsoft's drivers do
  // (mssql would otherwise drop the port and ask SQL Browser, which a firewall often blocks).
  const instanceName = hasPort ? undefined : named;
  return {
    ...(host === undefined || host === '' ? {} : { host }),
    ...(hasPort ? { port } : {}),
    ...(instanceName === undefined || instanceName === '' ? {} : { instanceName })
  };
}

const AUTHENTICATION_KEYWORDS: Record<string, MssqlDatabaseConfig['authentication']> = {
  sqlpassword: 'sql',
  'active directory service principal': 'entra-service-principal',
  'active directory managed identity': 'entra-managed-identity',
  'active directory msi': 'entra-managed-identity',
  'active directory default': 'entra-default'
};

function authenticationFromString(
  value: string | undefined,
  problems: ConfigProblem[],
  prefix: string
): MssqlDatabaseConfig['authentication'] | undefined {
  if (value === undefined) return undefined;
  const found = AUTHENTICATION_KEYWORDS[value.trim().toLowerCase()];
  if (found === undefined) {
    problems.push({
      setting: `${prefix}.connectionString`,
      problem: `Authentication=${value} is not supported; use SqlPassword or Active Directory Service Principal, Managed Identity or Default (or set authentication)`
    });
  }
  return found;
}

function encryptFromString(value: string | undefined): MssqlSettings['encrypt'] | undefined {
  if (value === undefined) return undefined;
  const lower = value.trim().toLowerCase();
  if (lower === 'strict') return 'strict';
  if (['true', 'yes', 'mandatory'].includes(lower)) return 'mandatory';
  if (['false', 'no', 'optional'].includes(lower)) return 'optional';
  return undefined;
}

/** Each authentication method needs its own settings. */
function requireFor(s: MssqlSettings, problems: ConfigProblem[], prefix: string): void {
  const need = (field: keyof MssqlSettings, why: string): void => {
    if (s[field] === undefined || s[field] === '')
      problems.push({ setting: `${prefix}.${field}`, problem: `is required for ${why}` });
  };
  switch (s.authentication) {
    case 'sql':
      need('user', 'SQL Server authentication');
      need('password', 'SQL Server authentication');
      break;
    case 'ntlm':
      need('domain', 'NTLM (Windows domain) authentication');
      need('user', 'NTLM (Windows domain) authentication');
      need('password', 'NTLM (Windows domain) authentication');
      break;
    case 'entra-service-principal':
      need('tenantId', 'an Entra ID service principal');
      need('clientId', 'an Entra ID service principal');
      need('clientSecret', 'an Entra ID service principal');
      break;
    case 'entra-access-token':
      need('accessToken', 'Entra ID access-token authentication');
      break;
    case 'entra-managed-identity':
    case 'entra-default':
      break;
  }
}

export interface MssqlConnectionOptions {
  settings: MssqlSettings;
  readOnly: boolean;
  pool: { max: number; idleTimeoutMs: number };
  /** Server-side request timeout, a safety net behind sqlbridge's own cancellation. */
  requestTimeoutMs: number;
  /** The largest row sqlbridge reads: the server cuts each long value (the (max) types, text, image) one byte past it. */
  maxRowBytes?: number;
  /** Builds the Entra ID credential for managed identity and default-credential logins. */
  tokenCredential?: (kind: 'managed-identity' | 'default', clientId: string | undefined) => unknown;
}

/**
 * The mssql/tedious connection configuration (https://tediousjs.github.io/tedious/api-connection.html):
 * TLS mandatory unless configured otherwise, `ApplicationIntent=ReadOnly` for read-only environments
 * (routes to a readable secondary of an availability group), XACT_ABORT on for every connection.
 */
export function mssqlConnectionConfig(options: MssqlConnectionOptions): MssqlConfig {
  const s = options.settings;
  return {
    server: s.host,
    ...(s.port === undefined ? {} : { port: s.port }),
    ...(s.database === undefined ? {} : { database: s.database }),
    authentication: authentication(s, options.tokenCredential) as MssqlConfig['authentication'],
    connectionTimeout: s.connectTimeoutMs,
    requestTimeout: options.requestTimeoutMs,
    pool: { max: options.pool.max, min: 0, idleTimeoutMillis: options.pool.idleTimeoutMs },
    options: {
      encrypt: s.encrypt === 'strict' ? 'strict' : s.encrypt === 'mandatory',
      trustServerCertificate: s.trustServerCertificate,
      ...tlsServerName(s),
      // A port, when there is one, is where the server listens: the instance name then plays no part.
      ...(s.instanceName === undefined || s.port !== undefined ? {} : { instanceName: s.instanceName }),
      readOnlyIntent: options.readOnly,
      multiSubnetFailover: s.multiSubnetFailover,
      appName: 'sqlbridge',
      useUTC: true,
      textsize: (options.maxRowBytes ?? DEFAULT_MAX_ROW_BYTES) + 1,
      enableArithAbort: true,
      abortTransactionOnError: true
    }
  };
}

/**
 * The TLS server name tedious sends and checks the certificate against. By default the host: with a
 * name, that is what verification needs. With an IP address, TDS 8 (`encrypt: strict`) sends none,
 * but the TLS that TDS 7 negotiates after PRELOGIN sends the address itself, which RFC 6066 forbids
 * and Node reports as a DEP0123 warning line outside the JSON log. When the certificate is not checked
 * (trustServerCertificate), the address's own reverse-lookup name (RFC 1035 §3.5, RFC 3596 §2.5)
 * takes its place; when it is, the address stays, as the certificate must name it.
 * `HostNameInCertificate=` names the certificate's host in every case, as in Microsoft's drivers
 * (https://learn.microsoft.com/sql/connect/ado-net/connection-string-syntax).
 */
export function tlsServerName(s: MssqlSettings): { serverName?: string } {
  if (s.hostNameInCertificate !== undefined) return { serverName: s.hostNameInCertificate };
  if (s.encrypt === 'strict' || !s.trustServerCertificate || isIP(s.host) === 0) return {};
  return { serverName: reverseLookupName(s.host) };
}

/** `10.0.0.5` → `5.0.0.10.in-addr.arpa`; an IPv6 address → its nibbles under ip6.arpa. */
function reverseLookupName(address: string): string {
  if (isIPv4(address)) return `${address.split('.').reverse().join('.')}.in-addr.arpa`;
  // Without a zone (`%eth0`), and a trailing IPv4 part (`::ffff:10.0.0.5`) as two groups.
  const plain = (address.split('%')[0] ?? '').replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_all, a, b, c, d) =>
    [a, b, c, d]
      .map(octet => Number(octet).toString(16).padStart(2, '0'))
      .join('')
      .replace(/^(.{4})/, '$1:')
  );
  const [head = '', tail = ''] = plain.split('::');
  const groups = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const missing = 8 - groups(head).length - groups(tail).length;
  const full = [...groups(head), ...Array<string>(plain.includes('::') ? missing : 0).fill('0'), ...groups(tail)];
  const nibbles = full.map(group => group.padStart(4, '0')).join('');
  return `${Array.from(nibbles).reverse().join('.')}.ip6.arpa`;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function authentication(
  s: MssqlSettings,
  tokenCredential: MssqlConnectionOptions['tokenCredential']
): { type: string; options: Record<string, unknown> } {
  switch (s.authentication) {
    case 'sql':
      return { type: 'default', options: { userName: s.user, password: s.password } };
    case 'ntlm':
      return { type: 'ntlm', options: { userName: s.user, password: s.password, domain: s.domain } };
    case 'entra-service-principal':
      return {
        type: 'azure-active-directory-service-principal-secret',
        options: { clientId: s.clientId, clientSecret: s.clientSecret, tenantId: s.tenantId }
      };
    case 'entra-access-token':
      return { type: 'azure-active-directory-access-token', options: { token: s.accessToken } };
    case 'entra-managed-identity':
      return tokenCredential === undefined
        ? { type: 'azure-active-directory-msi-vm', options: s.clientId === undefined ? {} : { clientId: s.clientId } }
        : { type: 'token-credential', options: { credential: tokenCredential('managed-identity', s.clientId) } };
    case 'entra-default':
      return tokenCredential === undefined
        ? { type: 'azure-active-directory-default', options: s.clientId === undefined ? {} : { clientId: s.clientId } }
        : { type: 'token-credential', options: { credential: tokenCredential('default', s.clientId) } };
  }
}
