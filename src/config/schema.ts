import * as z from 'zod';
import { isPasswordHash } from '../auth/server/passwords.ts';
import { isProxyAddress } from './proxy-address.ts';
import { checkCuratedTools, curatedToolsSchema, executeSqlSchema } from '../mcp/curated/tool-config.ts';

/**
 * The configuration schema: the single source of sqlbridge's configuration types, defaults,
 * validation and reference documentation (`npm run docs:config` renders docs/configuration.md
 * from it). Every object is strict, so a misspelt setting is an error, never silently ignored.
 */

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Path segments that an environment name may not take, because the server routes them itself. */
export const RESERVED_ENVIRONMENT_NAMES: ReadonlySet<string> = new Set([
  'healthz',
  'readyz',
  'metrics',
  'well-known',
  'static',
  'assets',
  'sse',
  'messages',
  'mcp',
  'authorize',
  'token',
  'register',
  'admin',
  'auth'
]);

export const environmentNameSchema = z
  .string()
  .regex(
    /^[a-z][a-z0-9_-]{0,62}$/,
    'an environment name starts with a lowercase letter and has only a-z, 0-9, "-" and "_" (at most 63 characters)'
  )
  .refine(name => !RESERVED_ENVIRONMENT_NAMES.has(name), { message: 'this environment name is reserved' });

const port = z.number().int().min(1).max(65535);

const limitsSchema = z
  .object({
    maxRows: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .default(1000)
      .describe('Rows returned by one query at most; reading stops there and the result says it was truncated.'),
    maxResultChars: z
      .number()
      .int()
      .min(1000)
      .max(70_000)
      .default(50_000)
      .describe(
        'Characters of serialized rows one result may hold (a query’s rows, list_tables’ tables), counted as the longer of their JSON and their text (where control characters are escaped wider). A result carries its rows twice (structured and as text), and Claude cuts tool results near 150,000 characters. Reading stops at this budget, and the result says so; a read whose column names and types alone take more fails, naming it.'
      ),
    maxSampleRows: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(100)
      .describe('The largest `limit` get_table_sample accepts.'),
    queryTimeoutMs: z
      .number()
      .int()
      .min(100)
      .max(290_000)
      .default(30_000)
      .describe(
        'A query running longer is cancelled on the database. A database that does not confirm the cancellation in time (1 s on SQL Server, 3 s on PostgreSQL and MySQL) has the connection closed, and the call is answered that the statement may still run. Must stay below the 300 s a Claude tool call may take.'
      ),
    maxStatements: z
      .number()
      .int()
      .min(1)
      .max(20)
      .default(1)
      .describe(
        'Statements one call may hold. Each is checked by the statement guard and runs in the same transaction.'
      ),
    binaryPreviewBytes: z
      .number()
      .int()
      .min(0)
      .max(4096)
      .default(48)
      .describe(
        'Binary values longer than this are shortened to this many bytes (base64), with their full length stated.'
      ),
    maxRowBytes: z
      .number()
      .int()
      .min(65_536)
      .max(268_435_456)
      .default(16_777_216)
      .describe(
        'Bytes one row of a result may take as the database sends it (16 MiB by default). A larger row stops the statement and fails the call, saying so, instead of being read into memory; binary values within it are still shown shortened.'
      )
  })
  .strict();

const poolSchema = z
  .object({
    max: z.number().int().min(1).max(100).default(4).describe('Connections (SQLite: worker processes) at most.'),
    idleTimeoutMs: z.number().int().min(1000).default(60_000).describe('An idle connection is closed after this long.')
  })
  .strict();

const demoDatabaseSchema = z
  .object({
    engine: z.literal('demo'),
    liveFeed: z
      .boolean()
      .default(true)
      .describe('Keep adding orders and payment attempts as time passes, so "the last hour" always has data.'),
    pool: poolSchema.prefault({})
  })
  .strict()
  .describe('The embedded demo database: a SQLite file created in the data directory on first start.');

const sqliteDatabaseSchema = z
  .object({
    engine: z.literal('sqlite'),
    path: z
      .string()
      .min(1)
      .describe(
        'Path of the SQLite database file, relative to the configuration file. A new copy moved into place is read from the next statement on; while the file is missing, statements fail (none creates it).'
      ),
    attach: z
      .record(
        z
          .string()
          .regex(
            /^[A-Za-z_][A-Za-z0-9_]{0,62}$/,
            'a schema name is a letter or "_" followed by letters, digits or "_"'
          ),
        z.string().min(1)
      )
      .default({})
      .describe('More SQLite files, each attached as a schema of its own (schema name → path).'),
    pool: poolSchema.prefault({})
  })
  .strict();

const tlsModeSchema = z.enum(['disable', 'require', 'verify-full']);

/**
 * A database URL: one `new URL` reads, with nothing after the host that looks like the rest of a user
 * name and password (`postgres://app:pa/ss@db/x` is host `app`, port `pa`… to a driver). Messages never
 * repeat the value: it may hold a password.
 */
function databaseUrl(schemes: readonly string[]) {
  return z.string().superRefine((value, context) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      context.addIssue({
        code: 'custom',
        message: 'is not a URL; in its user name and password, percent-encode `@`, `:`, `/`, `?`, `#` and `%`'
      });
      return;
    }
    if (!schemes.includes(url.protocol.slice(0, -1))) {
      context.addIssue({
        code: 'custom',
        message: `the URL's scheme must be ${schemes.map(s => `${s}://`).join(' or ')}`
      });
    } else if (`${url.pathname}${url.search}${url.hash}`.includes('@')) {
      context.addIssue({
        code: 'custom',
        message:
          'the URL has an `@` after its host: a password holding `/`, `?` or `#` must be percent-encoded (`%2F`, `%3F`, `%23`)'
      });
    } else if (![url.username, url.password, url.pathname].every(decodes)) {
      context.addIssue({
        code: 'custom',
        message: "a `%` in the URL's user name, password or database starts no escape: write a `%` itself as `%25`"
      });
    }
  });
}

/** Whether percent-escapes in `text` decode (a lone `%`, `%zz` or a broken UTF-8 sequence do not). */
function decodes(text: string): boolean {
  try {
    decodeURIComponent(text);
    return true;
  } catch {
    return false;
  }
}

const postgresDatabaseSchema = z
  .object({
    engine: z.literal('postgres'),
    url: databaseUrl(['postgres', 'postgresql'])
      .optional()
      .describe('A postgres:// URL; discrete settings override its parts.'),
    host: z.string().optional().describe('Server name or address.'),
    port: port.optional().describe('TCP port (5432 unless the URL gives one).'),
    database: z.string().optional().describe('The database to connect to.'),
    user: z.string().optional().describe('The database login queries run as.'),
    password: z.string().optional().describe('Its password (use `${VAR}` or a `_FILE` variable).'),
    tls: tlsModeSchema
      .default('verify-full')
      .describe('`disable`, `require` (encrypt, any certificate) or `verify-full`.'),
    caFile: z.string().optional().describe('PEM file of the CA that signed the server certificate.'),
    connectTimeoutMs: z.number().int().min(100).default(10_000).describe('Time allowed to connect and log in.'),
    pool: poolSchema.prefault({})
  })
  .strict();

const mysqlDatabaseSchema = z
  .object({
    engine: z.literal('mysql'),
    url: databaseUrl(['mysql', 'mariadb']).optional().describe('A mysql:// URL; discrete settings override its parts.'),
    host: z.string().optional().describe('Server name or address.'),
    port: port.optional().describe('TCP port (3306 unless the URL gives one).'),
    database: z.string().optional().describe('The database to connect to.'),
    user: z.string().optional().describe('The database login queries run as.'),
    password: z.string().optional().describe('Its password (use `${VAR}` or a `_FILE` variable).'),
    tls: tlsModeSchema
      .default('verify-full')
      .describe('`disable`, `require` (encrypt, any certificate) or `verify-full`.'),
    caFile: z.string().optional().describe('PEM file of the CA that signed the server certificate.'),
    connectTimeoutMs: z.number().int().min(100).default(10_000).describe('Time allowed to connect and log in.'),
    pool: poolSchema.prefault({})
  })
  .strict();

export const MSSQL_AUTHENTICATION_TYPES = [
  'sql',
  'ntlm',
  'entra-service-principal',
  'entra-managed-identity',
  'entra-default',
  'entra-access-token'
] as const;

const mssqlDatabaseSchema = z
  .object({
    engine: z.literal('mssql'),
    connectionString: z
      .string()
      .optional()
      .describe(
        'An ADO-style connection string (`Server=…;Database=…;User Id=…;Password=…`); discrete settings override its parts.'
      ),
    host: z.string().optional().describe('Server name or address; `host\\instance` names an instance.'),
    port: port.optional().describe('TCP port; 1433 unless an instance name is given (then SQL Browser resolves it).'),
    instanceName: z
      .string()
      .optional()
      .describe(
        'A named instance (`SQLEXPRESS`), resolved through SQL Browser; with a `port` too, the port is used and the name ignored, as Microsoft’s drivers do (`Server=host\\instance,port`).'
      ),
    database: z.string().optional().describe('The database to connect to.'),
    authentication: z
      .enum(MSSQL_AUTHENTICATION_TYPES)
      .default('sql')
      .describe('SQL login, Windows (NTLM) domain login, or one of the Microsoft Entra ID methods.'),
    user: z.string().optional().describe('The login queries run as (`sql` and `ntlm` authentication).'),
    password: z.string().optional().describe('Its password (use `${VAR}` or a `_FILE` variable).'),
    domain: z.string().optional().describe('Windows domain, for `ntlm` authentication.'),
    tenantId: z.string().optional().describe('Microsoft Entra tenant, for `entra-service-principal`.'),
    clientId: z.string().optional().describe('Entra application (client) id, or a user-assigned managed identity.'),
    clientSecret: z.string().optional().describe('Entra client secret, for `entra-service-principal`.'),
    accessToken: z.string().optional().describe('An Entra access token, for `entra-access-token`.'),
    encrypt: z
      .enum(['mandatory', 'strict', 'optional'])
      .optional()
      .describe('`mandatory` (TLS always; the default), `strict` (TDS 8.0) or `optional`.'),
    trustServerCertificate: z
      .boolean()
      .optional()
      .describe('Accept a server certificate no trusted CA signed (default false). Logged as a warning when true.'),
    connectTimeoutMs: z
      .number()
      .int()
      .min(100)
      .optional()
      .describe('Time allowed to connect and log in (default 15000).'),
    pool: poolSchema.prefault({})
  })
  .strict();

export const databaseSchema = z.discriminatedUnion('engine', [
  demoDatabaseSchema,
  sqliteDatabaseSchema,
  postgresDatabaseSchema,
  mysqlDatabaseSchema,
  mssqlDatabaseSchema
]);

/** A session key: what row-level security reads (SQL Server `SESSION_CONTEXT(N'<key>')`, PostgreSQL `sqlbridge.<key>`, MySQL `@sqlbridge_<key>`). */
const IDENTITY_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
/** Where a session value comes from: the user (`sub`), the OAuth client (`client_id`), or one of the user's attributes. */
export const IDENTITY_SOURCE = /^(sub|client_id|attributes\.[A-Za-z_][A-Za-z0-9_]{0,62})$/;

const identitySchema = z
  .record(
    z.string().regex(IDENTITY_KEY, 'a session key is a letter or "_" followed by letters, digits or "_" (at most 63)'),
    z
      .string()
      .regex(IDENTITY_SOURCE, 'expected `sub`, `client_id` or `attributes.<name>`')
      .describe('`sub`, `client_id` or `attributes.<name>`')
  )
  .default({ subject: 'sub', client_id: 'client_id' })
  .describe(
    "What is set into the database session before every query, session key → source: `sub` (the signed-in user), `client_id` (the OAuth client), or `attributes.<name>` (an attribute of the user, see `auth.users`). SQL Server reads a key with `SESSION_CONTEXT(N'<key>')` (set read-only), PostgreSQL with `current_setting('sqlbridge.<key>', true)`, MySQL and MariaDB with `@sqlbridge_<key>`, SQLite with `sqlbridge_identity('<key>')`. A value the caller does not have is NULL ('' on PostgreSQL). See docs/row-level-security.md."
  );

/** A database role or group name as sqlbridge accepts it: a plain identifier, never quoted SQL. */
export const ROLE_NAME = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;
const ROLE_NAME_MESSAGE = 'a role name is a letter or "_" followed by letters, digits, "_" or "$" (at most 63)';
/** A group name (`auth.users[].groups`), or `user:<username>` for one user. */
const ACCESS_SUBJECT = /^(user:[A-Za-z0-9._@+-]{1,64}|[A-Za-z0-9._@+-]{1,64})$/;

const accessSchema = z
  .object({
    roles: z
      .record(
        z.string().regex(ACCESS_SUBJECT, 'expected a group name or `user:<username>`'),
        z.string().regex(ROLE_NAME, ROLE_NAME_MESSAGE)
      )
      .default({})
      .describe(
        "Group (`auth.users[].groups`) or `user:<username>` → the database role its queries run as. A user mapping beats a group mapping; of several mapped groups, the first in the user's `groups` order wins."
      ),
    default: z
      .string()
      .regex(ROLE_NAME, ROLE_NAME_MESSAGE)
      .default('none')
      .describe(
        'The role of a caller no mapping matches (and of local callers without sign-in); `none` refuses them before any SQL runs.'
      ),
    tables: z
      .record(z.string().regex(ROLE_NAME, ROLE_NAME_MESSAGE), z.array(z.string().min(1).max(300)))
      .default({})
      .describe(
        'SQLite only (it has no roles): role → the tables and views it may read, as `table` or `schema.table`. Every role used in `roles` or `default` needs an entry.'
      )
  })
  .strict()
  .optional()
  .describe(
    'Database roles per user and group: each query of a caller runs as their role, so the database enforces its grants and row-level security. Absent: every caller runs as the login. See docs/access-control.md.'
  );

/** A rate limit: at most `limit` events per `windowSeconds`; `null` turns it off. */
const windowLimitSchema = (what: string) =>
  z
    .object({
      limit: z.number().int().min(1).max(1_000_000).describe(`${what} allowed in one window.`),
      windowSeconds: z.number().int().min(1).max(86_400).describe('Length of the window, in seconds.')
    })
    .strict()
    .nullable();

const environmentRateLimitsSchema = z
  .object({
    toolCalls: z
      .object({
        perUser: windowLimitSchema('Tool calls')
          .default({ limit: 600, windowSeconds: 60 })
          .describe(
            '`{ limit, windowSeconds }`: tool calls one user (OAuth `sub`; without OAuth, one client address) may make in this environment per window. Default `{ limit: 600, windowSeconds: 60 }`; `null` turns it off.'
          ),
        perClient: windowLimitSchema('Tool calls')
          .default(null)
          .describe(
            '`{ limit, windowSeconds }`: tool calls one OAuth client (`client_id`) may make in this environment per window, all its users together. Off (`null`) by default: every Claude.ai user may share one client id.'
          ),
        perAddress: windowLimitSchema('Tool calls')
          .default(null)
          .describe(
            '`{ limit, windowSeconds }`: tool calls from one client address (X-Forwarded-For from trusted proxies) to this environment per window. Off (`null`) by default: a hosted client calls for all its users from a few addresses.'
          )
      })
      .strict()
      .prefault({})
      .describe('Answered with HTTP 429, Retry-After and a JSON-RPC error per call; see docs/rate-limits.md.'),
    maxConcurrentQueriesPerUser: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .nullable()
      .default(8)
      .describe(
        'Tool calls and catalog reads (integer) one user may have running at once in this environment, counted per server process; one more is answered with an error naming the limit. Set it below `database.pool.max` to keep connections for others. `null` turns it off.'
      )
  })
  .strict();

export const AUDIT_STATEMENT_MODES = ['full', 'hash', 'omit'] as const;

const environmentAuditSchema = z
  .object({
    statements: z
      .enum(AUDIT_STATEMENT_MODES)
      .default('full')
      .describe(
        'What audit records keep of the SQL a caller sent: `full` (text and SHA-256), `hash` (SHA-256 only) or `omit`.'
      ),
    onFailure: z
      .enum(['continue', 'block'])
      .default('continue')
      .describe(
        'When an audit sink cannot write: `continue` serving (every record that could not be written is counted and reported), or `block` queries with an error until the sink recovers (for regulated data).'
      )
  })
  .strict();

export const environmentSchema = z
  .object({
    description: z.string().max(500).optional().describe('What this environment holds; shown to the AI assistant.'),
    readOnly: z
      .boolean()
      .default(true)
      .describe(
        'Nothing sent to a read-only environment may change it. When false, the execute_write_sql tool is offered as well.'
      ),
    requireLeastPrivilege: z
      .boolean()
      .default(false)
      .describe(
        "Refuse to start when a read-only environment's database login could write; otherwise sqlbridge starts and warns."
      ),
    database: databaseSchema,
    limits: limitsSchema.prefault({}),
    identity: identitySchema,
    access: accessSchema,
    tools: curatedToolsSchema,
    executeSql: executeSqlSchema,
    audit: environmentAuditSchema.prefault({}),
    rateLimits: environmentRateLimitsSchema.prefault({})
  })
  .strict()
  .superRefine((environment, context) => {
    checkAccess(environment, context);
    checkCuratedTools(environment, context);
    if (environment.database.engine !== 'mysql') return;
    for (const key of Object.keys(environment.identity)) {
      // `@sqlbridge_<key>` is a user variable, whose name ends at 64 characters.
      if (key.length > 54) {
        context.addIssue({
          code: 'custom',
          path: ['identity', key],
          message: 'a session key has at most 54 characters on MySQL/MariaDB (user variable names end at 64)'
        });
      }
    }
  });

/** `access.tables` is how SQLite knows a role; on the other engines the database itself does. */
function checkAccess(
  environment: { database: { engine: string }; access?: z.output<typeof accessSchema> },
  context: z.RefinementCtx
): void {
  const access = environment.access;
  if (access === undefined) return;
  const sqlite = environment.database.engine === 'sqlite' || environment.database.engine === 'demo';
  if (!sqlite) {
    if (Object.keys(access.tables).length > 0) {
      context.addIssue({
        code: 'custom',
        path: ['access', 'tables'],
        message: `only SQLite environments list tables per role; ${environment.database.engine} enforces the role's own grants`
      });
    }
    return;
  }
  const roles = new Set(Object.values(access.roles));
  if (access.default !== 'none') roles.add(access.default);
  for (const role of roles) {
    if (access.tables[role] === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['access', 'tables', role],
        message: `the role ${JSON.stringify(role)} is used in access.roles or access.default but lists no tables`
      });
    }
  }
}

const serverSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1').describe('Address the HTTP server binds.'),
    port: z.number().int().min(0).max(65535).default(8008).describe('HTTP port (0 picks a free port).'),
    publicUrl: z
      .url({ protocol: /^https?$/, hostname: z.regexes.hostname })
      .refine(
        url => !/^https?:/i.test(url) || /^https?:\/\/[^/]+\/?$/.test(url),
        'the public URL is an origin (scheme, host and port) without a path'
      )
      .optional()
      .describe(
        'The URL clients reach this server at (e.g. https://data.example.com), when it differs from the bind address.'
      ),
    trustProxy: z
      .array(
        z
          .string()
          .trim()
          .min(1)
          .refine(
            isProxyAddress,
            'expected an IP address, a CIDR range (10.0.0.0/8) or loopback, linklocal, uniquelocal'
          )
      )
      .default([])
      .describe(
        'Addresses or CIDR ranges of reverse proxies in front of sqlbridge (e.g. ["127.0.0.1", "10.0.0.0/8"]). Only requests from these addresses have their X-Forwarded-For (the client address, for throttling and logs), X-Forwarded-Proto, X-Forwarded-Host and X-Environment-Path / X-Forwarded-Prefix (the path prefix the proxy removed) honoured; from anyone else these headers are ignored. Requires `server.publicUrl` when OAuth is on.'
      ),
    allowedHosts: z
      .array(z.string().min(1))
      .default([])
      .describe(
        'Extra `Host` header values accepted (DNS-rebinding protection); loopback names and the public URL host always are.'
      ),
    allowedOrigins: z
      .array(z.string().min(1))
      .default([])
      .describe(
        'Browser origins allowed to call the MCP endpoints; requests without an Origin header are not affected.'
      ),
    maxRequestBodyBytes: z
      .number()
      .int()
      .min(1024)
      .max(16 * 1024 * 1024)
      .default(1024 * 1024)
      .describe('Largest request body accepted.'),
    maxConnections: z
      .number()
      .int()
      .min(16)
      .max(1_000_000)
      .default(20_000)
      .describe(
        'Open HTTP connections at most, every client together; one more is closed at once. Lowered at start to leave 512 of the process’s open-file limit to database connections, files and SQLite workers, which a flood of idle connections would otherwise starve.'
      ),
    maxSessions: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .default(1000)
      .describe(
        'Sessions of 2025-era clients kept per environment (2026-07-28 clients need none); the least recently used is closed beyond this.'
      ),
    maxSessionsPerUser: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .default(50)
      .describe(
        "Sessions of 2025-era clients one signed-in user keeps per environment, whichever OAuth clients opened them; opening one more closes that user's least recently used, so that no user can push out everyone else's (`maxSessions`). Not applied without OAuth."
      ),
    sessionIdleTimeoutMs: z
      .number()
      .int()
      .min(10_000)
      .default(30 * 60_000)
      .describe('A 2025-era client session unused this long is closed.'),
    keepAliveMs: z
      .number()
      .int()
      .min(100)
      .max(300_000)
      .default(15_000)
      .describe(
        'Interval of the keep-alive comments sent on every open event stream (Streamable HTTP and legacy SSE), so proxies and load balancers keep idle streams open.'
      ),
    shutdownTimeoutMs: z
      .number()
      .int()
      .min(0)
      .max(600_000)
      .default(10_000)
      .describe(
        'On SIGTERM or SIGINT, calls already running get this long to finish; any still running then is stopped on the database and answered with a JSON-RPC error.'
      ),
    readinessTimeoutMs: z
      .number()
      .int()
      .min(100)
      .max(60_000)
      .default(2000)
      .describe(
        'How long each check of `/readyz` (a database, the OAuth storage) may take; one that takes longer counts as `timeout` and the server as not ready.'
      ),
    legacySse: z
      .object({
        maxStreams: z
          .number()
          .int()
          .min(1)
          .max(100_000)
          .default(1000)
          .describe('Open legacy HTTP+SSE streams (`/<environment>/sse`) at most, over every environment.'),
        maxStreamsPerUser: z
          .number()
          .int()
          .min(1)
          .max(1000)
          .default(10)
          .describe(
            'Open legacy HTTP+SSE streams one signed-in user (whichever OAuth clients opened them; without OAuth, one client address) may hold.'
          )
      })
      .strict()
      .prefault({})
      .describe('The HTTP+SSE transport of protocol 2024-11-05, for clients that predate Streamable HTTP.')
  })
  .strict();

export const SQL_SCOPES = ['sql:read', 'sql:write'] as const;
/** Scopes a user or group may hold: the SQL scopes, and `sqlbridge:admin` (the admin console and `sqlbridge admin`). */
export const USER_SCOPES = [...SQL_SCOPES, 'sqlbridge:admin'] as const;

const GROUP_NAME = /^[A-Za-z0-9._@+-]{1,64}$/;
const GROUP_NAME_MESSAGE = 'a group name is 1 to 64 letters, digits or . _ @ + -';
/** An upstream identity provider's id: part of federated account names (`<id>:<subject>`) and of URLs. */
const PROVIDER_ID = /^[a-z][a-z0-9-]{0,31}$/;

const identityLinkSchema = z
  .object({
    provider: z
      .string()
      .regex(PROVIDER_ID, 'a provider id is a lowercase letter followed by up to 31 lowercase letters, digits or -')
      .describe('The id of a provider in `auth.federation.providers`.'),
    subject: z
      .string()
      .min(1)
      .max(255)
      .describe("The user's `sub` at that provider (never their e-mail: e-mail addresses can be reassigned).")
  })
  .strict();

const userSchema = z
  .object({
    username: z
      .string()
      .regex(/^[A-Za-z0-9._@+-]{1,64}$/, 'a user name is 1 to 64 letters, digits or . _ @ + -')
      .describe('The name typed on the sign-in page.'),
    passwordHash: z
      .string()
      .refine(isPasswordHash, 'expected a hash printed by `sqlbridge hash-password` (scrypt$…)')
      .optional()
      .describe(
        'The password, hashed by `sqlbridge hash-password`. Without one the user signs in only through an identity provider (`identities`).'
      ),
    email: z
      .email()
      .max(254)
      .optional()
      .describe(
        "Shown to administrators. An identity provider's account with this e-mail is never merged into this user: it must be linked by `identities`."
      ),
    identities: z
      .array(identityLinkSchema)
      .default([])
      .describe(
        'Accounts at identity providers (`auth.federation.providers`) that sign in as this user, each by provider id and subject.'
      ),
    environments: z
      .array(z.string().min(1))
      .default([])
      .describe('Environments the user may connect to; `*` for all. Groups in `auth.groups` add theirs.'),
    scopes: z
      .array(z.enum(USER_SCOPES))
      .min(1)
      .default(['sql:read'])
      .describe(
        'What the user may grant: `sql:read`, `sql:write` (only used in read-write environments) and `sqlbridge:admin` (the admin console). Groups in `auth.groups` add theirs.'
      ),
    disabled: z.boolean().default(false).describe('A disabled user cannot sign in, and their tokens stop working.'),
    attributes: z
      .record(
        z
          .string()
          .regex(
            /^[A-Za-z_][A-Za-z0-9_]{0,62}$/,
            'an attribute name is a letter or "_" followed by letters, digits or "_"'
          ),
        z.union([z.string().max(4000), z.number(), z.boolean()])
      )
      .default({})
      .describe(
        'Facts about the user that environments can set into the database session for row-level security (e.g. `department: 7`); see `environments.<name>.identity`.'
      ),
    groups: z
      .array(z.string().regex(GROUP_NAME, GROUP_NAME_MESSAGE))
      .default([])
      .describe(
        "The user's groups, in order of preference: `environments.<name>.access.roles` maps them to database roles."
      )
  })
  .strict();

const clientSchema = z
  .object({
    clientId: z.string().min(1).max(200).describe('The client_id the application is configured with.'),
    clientSecret: z
      .string()
      .min(32, 'a client secret has at least 32 characters')
      .optional()
      .describe(
        'For a confidential client, its secret (use `${VAR}` or a `_FILE` variable); omit for a public client.'
      ),
    name: z.string().min(1).max(100).optional().describe('Shown on the consent page.'),
    redirectUris: z.array(z.url()).min(1).describe('Its redirect URIs, matched exactly.')
  })
  .strict();

function isLoopbackUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  } catch {
    return false;
  }
}

const groupSchema = z
  .object({
    environments: z.array(z.string().min(1)).default([]).describe('Environments members may connect to; `*` for all.'),
    scopes: z.array(z.enum(USER_SCOPES)).default([]).describe('Scopes members may grant, as `auth.users[].scopes`.')
  })
  .strict();

const justInTimeSchema = z
  .object({
    enabled: z
      .boolean()
      .default(false)
      .describe(
        'Let anyone this provider signs in become a user (named `<provider>:<subject>`). Off: only users whose `identities` name the account may sign in.'
      ),
    groups: z
      .array(z.string().regex(GROUP_NAME, GROUP_NAME_MESSAGE))
      .default([])
      .describe('Groups every user created this way gets, before the groups from the provider.'),
    environments: z
      .array(z.string().min(1))
      .default([])
      .describe('Environments every user created this way may connect to (groups in `auth.groups` add theirs).'),
    scopes: z
      .array(z.enum(USER_SCOPES))
      .default(['sql:read'])
      .describe('Scopes every user created this way may grant (groups in `auth.groups` add theirs).')
  })
  .strict();

const upstreamProviderSchema = z
  .object({
    id: z
      .string()
      .regex(PROVIDER_ID, 'a provider id is a lowercase letter followed by up to 31 lowercase letters, digits or -')
      .describe('A short id: `entra`, `okta`, `google`, `keycloak`.'),
    name: z.string().min(1).max(60).describe('The button on the sign-in page: "Sign in with <name>".'),
    issuer: z
      .url()
      .refine(
        value => value.startsWith('https://') || isLoopbackUrl(value),
        'an issuer is an https URL (http only on a loopback address, for tests)'
      )
      .describe(
        'The OpenID Connect issuer; its discovery document (`/.well-known/openid-configuration`) is read at start.'
      ),
    clientId: z.string().min(1).max(255).describe('The client id sqlbridge is registered under at the provider.'),
    clientSecret: z
      .string()
      .min(1)
      .optional()
      .describe('Its client secret (use `${VAR}` or a `_FILE` variable); omit for a public client (PKCE alone).'),
    scopes: z
      .array(z.string().min(1))
      .default(['openid', 'profile', 'email'])
      .describe(
        'Scopes requested from the provider; `openid` is always sent. Add `offline_access` to keep a refresh token.'
      ),
    groupsClaim: z
      .string()
      .min(1)
      .default('groups')
      .describe(
        "The claim of the ID token (or user info) that lists the user's groups, a dotted path for nested claims (`realm_access.roles`). Entra ID: `groups` or `roles`."
      ),
    groupMap: z
      .record(z.string().min(1), z.string().regex(GROUP_NAME, GROUP_NAME_MESSAGE))
      .default({})
      .describe(
        'Provider group (a name, or an object id as Entra ID sends) → sqlbridge group. Provider groups not listed are ignored unless `acceptUnmappedGroups`.'
      ),
    acceptUnmappedGroups: z
      .boolean()
      .default(false)
      .describe('Take provider groups that are valid sqlbridge group names as they are, not only the mapped ones.'),
    userinfo: z
      .boolean()
      .default(false)
      .describe('Also read the user info endpoint (for claims the ID token leaves out).'),
    keepRefreshToken: z
      .boolean()
      .default(true)
      .describe(
        "Keep the provider's refresh token (encrypted) to read the user's groups again at every sqlbridge refresh; without one, groups are read at sign-in only."
      ),
    environments: z
      .array(z.string().min(1))
      .default(['*'])
      .describe('Environments whose sign-in page offers this provider; `*` for all.'),
    justInTime: justInTimeSchema.prefault({})
  })
  .strict();

const federationSchema = z
  .object({
    providers: z
      .array(upstreamProviderSchema)
      .default([])
      .describe('OpenID Connect providers people sign in with (Microsoft Entra ID, Okta, Google, Keycloak, …).'),
    localUsers: z
      .boolean()
      .default(true)
      .describe('Offer the user name and password form beside the providers; `false` signs in through providers only.')
  })
  .strict();

const adminSchema = z
  .object({
    enabled: z
      .boolean()
      .default(true)
      .describe('Serve the admin console at `/admin` (users with the `sqlbridge:admin` scope sign in to it).'),
    sessionMinutes: z.number().int().min(5).max(720).default(60).describe('How long an admin console sign-in lasts.')
  })
  .strict();

const authSchema = z
  .object({
    enabled: z
      .boolean()
      .default(true)
      .describe(
        'OAuth 2.1 on every HTTP endpoint. Turning it off (`--no-auth`) is allowed only when the server binds a loopback address.'
      ),
    allowedRedirectHosts: z
      .array(z.string().min(1))
      .default([
        'https://claude.ai/api/mcp/auth_callback',
        'https://claude.com/api/mcp/auth_callback',
        'localhost',
        '127.0.0.1',
        '[::1]'
      ])
      .describe(
        'Where dynamically registered and metadata-document clients may redirect: a full URL (matched exactly) or a host name (any https URL on it; loopback hosts also over http, any port).'
      ),
    accessTokenTtlSeconds: z.number().int().min(60).max(86_400).default(3600).describe('Lifetime of an access token.'),
    refreshTokenTtlDays: z
      .number()
      .int()
      .min(1)
      .max(365)
      .default(30)
      .describe('Lifetime of a refresh token; each use replaces it with a new one.'),
    grantCheckMs: z
      .number()
      .int()
      .min(0)
      .max(60_000)
      .default(5000)
      .describe(
        'How long the MCP endpoint trusts that a token’s grant is still valid before asking the store again: a revoked grant, a replayed refresh token or a disabled user stops its access tokens within this.'
      ),
    storage: z
      .union([
        z.enum(['sqlite', 'memory']),
        z.string().regex(/^rediss?:\/\/[^/?#]/, 'a redis:// or rediss:// URL, or sqlite, or memory')
      ])
      .default('sqlite')
      .describe(
        'Where clients, grants and refresh tokens are kept: `sqlite` (auth.sqlite in the data directory), `memory` (tests only: lost on restart), or a `redis://host:port/db` URL (`rediss://` for TLS; `?prefix=name` to namespace the keys, default `sqlbridge`) that replicas share, with the store key and every environment’s signing keys.'
      ),
    storagePassword: z
      .string()
      .min(1)
      .optional()
      .describe(
        'The password of the Redis in `auth.storage`, when it is not in the URL (REDIS_PASSWORD, REDIS_PASSWORD_FILE).'
      ),
    clientIdleDays: z
      .number()
      .int()
      .min(1)
      .max(365)
      .default(30)
      .describe('A dynamically registered client unused this long is forgotten (its application registers again).'),
    maxRegistrationsPerHour: z
      .number()
      .int()
      .min(1)
      .default(120)
      .describe('Dynamic client registrations accepted per client address and hour.'),
    rateLimits: z
      .object({
        signIn: windowLimitSchema('Sign-in form submissions')
          .default({ limit: 100, windowSeconds: 60 })
          .describe(
            '`{ limit, windowSeconds }`: sign-in form submissions (`POST /<env>/interaction/<id>/login`, and the admin console’s `POST /admin/login`) per client address (an IPv6 one by its /64) and window, over every environment, whether they succeed or not (failed ones are also throttled per user by `auth.login`). Default `{ limit: 100, windowSeconds: 60 }`; `null` turns it off.'
          ),
        token: windowLimitSchema('Token requests')
          .default({ limit: 300, windowSeconds: 60 })
          .describe(
            '`{ limit, windowSeconds }`: token endpoint requests (`POST /<env>/token`: code redemptions and refreshes) per client address and window, over every environment. Default `{ limit: 300, windowSeconds: 60 }`; `null` turns it off.'
          )
      })
      .strict()
      .prefault({})
      .describe('Answered with HTTP 429, Retry-After and an OAuth error body; see docs/rate-limits.md.'),
    users: z.array(userSchema).default([]).describe('The people who may sign in.'),
    groups: z
      .record(z.string().regex(GROUP_NAME, GROUP_NAME_MESSAGE), groupSchema)
      .default({})
      .describe('What members of a group may use: environments and scopes added to their own.'),
    federation: federationSchema
      .prefault({})
      .describe('Sign-in through the organisation’s OpenID Connect providers; see docs/sso.md.'),
    admin: adminSchema.prefault({}).describe('The admin console; see docs/admin.md.'),
    clients: z.array(clientSchema).default([]).describe('Pre-registered OAuth clients.'),
    clientIdMetadataDocuments: z
      .object({
        enabled: z.boolean().default(true).describe('Accept https URLs as client_id (Client ID Metadata Documents).'),
        timeoutMs: z.number().int().min(100).max(30_000).default(5000).describe('Time allowed to fetch a document.'),
        maxBytes: z.number().int().min(512).max(65_536).default(5120).describe('Largest document accepted.'),
        trustedOrigins: z
          .array(z.string().min(1))
          .default([])
          .describe(
            'Origins fetched although they resolve to private or loopback addresses (for development and tests only).'
          ),
        caFile: z
          .string()
          .optional()
          .describe('An extra CA certificate (PEM) trusted for trusted origins, e.g. a development certificate.')
      })
      .strict()
      .prefault({}),
    login: z
      .object({
        maxFailuresPerUser: z.number().int().min(1).default(5).describe('Failed sign-ins per user name in the window.'),
        maxFailuresPerAddress: z
          .number()
          .int()
          .min(1)
          .default(30)
          .describe('Failed sign-ins per client address in the window.'),
        windowMinutes: z.number().int().min(1).default(15).describe('The window failed sign-ins are counted over.')
      })
      .strict()
      .prefault({})
  })
  .strict();

const auditSchema = z
  .object({
    file: z
      .object({
        enabled: z.boolean().default(true).describe('Write the audit trail as JSON Lines.'),
        path: z
          .string()
          .min(1)
          .default('audit/audit.jsonl')
          .describe(
            'The current file, relative to the data directory; rotated files are `audit.1.jsonl`, `audit.2.jsonl`, … beside it.'
          ),
        maxBytes: z
          .number()
          .int()
          .min(1024)
          .default(50 * 1024 * 1024)
          .describe('The current file is rotated before it would grow beyond this size.'),
        maxFiles: z
          .number()
          .int()
          .min(1)
          .max(1000)
          .default(10)
          .describe('Rotated files kept; the oldest beyond this is deleted.')
      })
      .strict()
      .prefault({}),
    log: z
      .boolean()
      .default(false)
      .describe('Also write every audit record to the structured log (info level, message "audit").'),
    database: z
      .object({
        engine: z.enum(['sqlite', 'postgres']).describe('`sqlite` (a file) or `postgres`.'),
        path: z
          .string()
          .min(1)
          .default('audit/audit.sqlite')
          .describe('SQLite: the file, relative to the data directory.'),
        url: databaseUrl(['postgres', 'postgresql'])
          .optional()
          .describe('PostgreSQL: a postgres:// URL (use `${VAR}` for its password).'),
        table: z
          .string()
          .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'a table name is a letter or "_" followed by letters, digits or "_"')
          .default('sqlbridge_audit')
          .describe('The table written to; created when missing.')
      })
      .strict()
      .optional()
      .describe('Also write the audit trail into a database table, in batches.'),
    flushIntervalMs: z
      .number()
      .int()
      .min(10)
      .max(60_000)
      .default(250)
      .describe('Records are written in batches at this interval (and when the server stops).'),
    maxPending: z
      .number()
      .int()
      .min(100)
      .max(1_000_000)
      .default(100_000)
      .describe(
        'Records held in memory while a sink cannot write. Beyond this the oldest are dropped, counted and reported.'
      )
  })
  .strict()
  .superRefine((audit, context) => {
    if (audit.database?.engine === 'postgres' && audit.database.url === undefined) {
      context.addIssue({ code: 'custom', path: ['database', 'url'], message: 'a PostgreSQL audit table needs `url`' });
    }
  });

const metricsSchema = z
  .object({
    enabled: z
      .boolean()
      .default(false)
      .describe('Serve Prometheus metrics at `/metrics` on a listener of their own (never on the MCP port).'),
    host: z
      .string()
      .min(1)
      .default('127.0.0.1')
      .describe('Address the metrics listener binds. Anything but loopback requires `metrics.token`.'),
    port: z
      .number()
      .int()
      .min(0)
      .max(65535)
      .default(9464)
      .describe('Port of the metrics listener (0 picks a free port).'),
    token: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Bearer token Prometheus must send (`Authorization: Bearer <token>`); use `${VAR}`. Requests without it are answered 401.'
      )
  })
  .strict()
  .describe('Prometheus metrics; see docs/operations.md.');

export const configSchema = z
  .object({
    server: serverSchema.prefault({}),
    dataDir: z.string().min(1).default('./data').describe('Directory for the demo database and other state.'),
    logLevel: z.enum(LOG_LEVELS).default('info').describe('Least severe log level written to stderr (JSON lines).'),
    auth: authSchema.prefault({}),
    audit: auditSchema.prefault({}),
    metrics: metricsSchema.prefault({}),
    environments: z
      .record(environmentNameSchema, environmentSchema)
      .default({})
      .describe('The environments served, by name; each is served at `/<name>/mcp`.')
  })
  .strict()
  .superRefine((config, context) => {
    const names = new Set(Object.keys(config.environments));
    config.auth.users.forEach((user, i) => {
      user.environments.forEach((name, j) => {
        if (name !== '*' && !names.has(name)) {
          context.addIssue({
            code: 'custom',
            path: ['auth', 'users', i, 'environments', j],
            message: `there is no environment named ${JSON.stringify(name)} (environments: ${[...names].join(', ') || 'none'})`
          });
        }
      });
    });
    const environmentIssue = (path: (string | number)[], name: string): void => {
      if (name === '*' || names.has(name)) return;
      context.addIssue({
        code: 'custom',
        path,
        message: `there is no environment named ${JSON.stringify(name)} (environments: ${[...names].join(', ') || 'none'})`
      });
    };
    for (const [group, settings] of Object.entries(config.auth.groups)) {
      settings.environments.forEach((name, j) => environmentIssue(['auth', 'groups', group, 'environments', j], name));
    }
    const providers = new Set<string>();
    config.auth.federation.providers.forEach((provider, i) => {
      if (providers.has(provider.id)) {
        context.addIssue({
          code: 'custom',
          path: ['auth', 'federation', 'providers', i, 'id'],
          message: 'another provider has this id'
        });
      }
      providers.add(provider.id);
      provider.environments.forEach((name, j) =>
        environmentIssue(['auth', 'federation', 'providers', i, 'environments', j], name)
      );
      provider.justInTime.environments.forEach((name, j) =>
        environmentIssue(['auth', 'federation', 'providers', i, 'justInTime', 'environments', j], name)
      );
    });
    const linked = new Set<string>();
    config.auth.users.forEach((user, i) => {
      user.identities.forEach((identity, j) => {
        const key = `${identity.provider}\u0000${identity.subject}`;
        if (!providers.has(identity.provider)) {
          context.addIssue({
            code: 'custom',
            path: ['auth', 'users', i, 'identities', j, 'provider'],
            message: `there is no provider with id ${JSON.stringify(identity.provider)} in auth.federation.providers`
          });
        } else if (linked.has(key)) {
          context.addIssue({
            code: 'custom',
            path: ['auth', 'users', i, 'identities', j],
            message: 'this account is already linked to another user'
          });
        }
        linked.add(key);
      });
    });
    const seen = new Set<string>();
    config.auth.users.forEach((user, i) => {
      const key = user.username.toLowerCase();
      if (seen.has(key)) {
        context.addIssue({
          code: 'custom',
          path: ['auth', 'users', i, 'username'],
          message: 'another user has this name'
        });
      }
      seen.add(key);
    });
  });

/** The configuration as written (before defaults). */
export type ConfigInput = z.input<typeof configSchema>;
/** The validated configuration with every default applied. */
export type Config = z.output<typeof configSchema>;
export type EnvironmentConfig = Config['environments'][string];
export type DatabaseConfig = EnvironmentConfig['database'];
export type EngineConfigName = DatabaseConfig['engine'];
export type Limits = EnvironmentConfig['limits'];
export type LogLevel = Config['logLevel'];
export type AuditConfig = Config['audit'];
export type EnvironmentAuditConfig = EnvironmentConfig['audit'];
export type IdentityConfig = EnvironmentConfig['identity'];
export type AccessConfig = NonNullable<EnvironmentConfig['access']>;
export type MetricsConfig = Config['metrics'];
export type EnvironmentRateLimits = EnvironmentConfig['rateLimits'];
