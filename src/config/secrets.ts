import { MSSQL_SCHEMA, parse as parseConnectionString } from '@tediousjs/connection-string';
import type { Config } from './schema.ts';

/**
 * Every secret the configuration holds, for the logger to redact by value (redactSecrets in
 * observability/logger.ts): whatever message, error text or object a password ends up in, it never
 * reaches a log line. Database passwords (discrete, inside a URL, inside an ADO connection string),
 * SQL Server's Entra client secret and access token, the secrets of pre-registered OAuth clients, the
 * password of the audit table's URL and of the Redis holding OAuth state, and the users' password
 * hashes (not secrets, but what an attacker would crack offline). Values are returned as written;
 * the logger decides which are long enough to redact by value.
 */
export function configuredSecrets(config: Config): string[] {
  const found = new Set<string>();
  const add = (value: string | undefined): void => {
    if (value !== undefined && value !== '') found.add(value);
  };
  for (const environment of Object.values(config.environments)) {
    const database = environment.database;
    switch (database.engine) {
      case 'postgres':
      case 'mysql':
        add(database.password);
        for (const value of urlPasswords(database.url)) add(value);
        break;
      case 'mssql':
        add(database.password);
        add(database.clientSecret);
        add(database.accessToken);
        for (const value of connectionStringPasswords(database.connectionString)) add(value);
        break;
      default:
        break;
    }
  }
  for (const client of config.auth.clients) add(client.clientSecret);
  for (const provider of config.auth.federation.providers) add(provider.clientSecret);
  for (const user of config.auth.users) add(user.passwordHash);
  for (const value of urlPasswords(config.audit.database?.url)) add(value);
  add(config.auth.storagePassword);
  add(config.metrics.token);
  for (const value of urlPasswords(config.auth.storage)) add(value);
  return [...found];
}

/** The password of a `scheme://user:password@host/…` URL, or of its `?password=` parameter, as written (percent-encoded) and decoded. */
export function urlPasswords(url: string | undefined): string[] {
  if (url === undefined) return [];
  // Read by hand rather than with `new URL`: a URL it rejects (a socket path for a host, an
  // unencoded character) may still hold a password the driver will use. Both readings count: up to
  // the first `@` before any `/`, `?` or `#`, and up to the last `@` (a password with an unencoded
  // `/` is read by drivers as a port and a path, and would show in their errors).
  const authorities = [
    /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)@/i.exec(url)?.[1],
    /^[a-z][a-z0-9+.-]*:\/\/(.*)@/is.exec(url)?.[1]
  ];
  const found: string[] = [];
  for (const authority of authorities) {
    const colon = authority?.indexOf(':') ?? -1;
    if (authority === undefined || colon < 0) continue;
    const written = authority.slice(colon + 1);
    found.push(written);
    try {
      found.push(decodeURIComponent(written));
    } catch {
      // not valid percent-encoding: the driver reads it as written
    }
  }
  // node-postgres also takes a password from the query (`?password=…`), and so do other drivers.
  const query = /\?([^#]*)/.exec(url)?.[1] ?? '';
  for (const parameter of query.split('&')) {
    const equals = parameter.indexOf('=');
    if (equals < 0 || !/^(password|pass|pwd)$/i.test(parameter.slice(0, equals))) continue;
    const written = parameter.slice(equals + 1);
    found.push(written);
    try {
      found.push(decodeURIComponent(written.replaceAll('+', ' ')));
    } catch {
      // read as written
    }
  }
  return [...new Set(found.filter(value => value !== ''))];
}

/** The password of an ADO connection string (`Password=…` or `Pwd=…`, braces and quotes removed). */
export function connectionStringPasswords(connectionString: string | undefined): string[] {
  if (connectionString === undefined) return [];
  try {
    const typed = parseConnectionString(connectionString).toSchema(MSSQL_SCHEMA) as Record<string, unknown>;
    const password = typed['password'];
    return typeof password === 'string' && password !== '' ? [password] : [];
  } catch {
    return [];
  }
}
