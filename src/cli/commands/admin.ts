import { AdminError } from '../../admin/admin-error.ts';
import type { AdminActor, AuditQuery } from '../../admin/admin-types.ts';
import type { AdminService } from '../../admin/admin-service.ts';
import { openAdministration } from '../../admin/open-administration.ts';
import { parseTimeBound } from '../../audit/filter.ts';
import { RecordTable } from '../../audit/record-table.ts';
import type { LoadedConfig } from '../../config/load.ts';
import { createLogger } from '../../observability/logger.ts';
import { UsageError, type ParsedArgs } from '../args.ts';
import type { CliIo } from '../io.ts';
import { clientsTable, grantsTable, usersTable } from './admin-tables.ts';
import { requireEnvironments } from './environments.ts';

/**
 * `sqlbridge admin <action>`: what the admin console shows and does, for scripts and for a shell on
 * the server. It works on the configured OAuth store (admin-service.ts, open-administration.ts):
 * with Redis the running replicas act on every change at once. Lists print a table, or with
 * `--json` one JSON document; exit 0 when done, 1 when the grant, client or user is not there, 2
 * when the command line is wrong (the message names the argument). Every action is audited as done
 * by `cli`.
 */

type Option =
  | 'env'
  | 'user'
  | 'client'
  | 'grant'
  | 'search'
  | 'event'
  | 'outcome'
  | 'since'
  | 'until'
  | 'limit'
  | 'follow'
  | 'json';

/** The options each action takes; any other given is refused by name. */
const ACTIONS: Readonly<Record<string, readonly Option[]>> = {
  clients: ['env', 'search', 'json'],
  grants: ['env', 'user', 'client', 'json'],
  users: ['search', 'json'],
  'revoke-grant': ['grant', 'env', 'json'],
  'delete-client': ['client', 'env', 'json'],
  'disable-user': ['user', 'json'],
  'enable-user': ['user', 'json'],
  'rotate-keys': ['env', 'json'],
  audit: ['env', 'user', 'client', 'event', 'outcome', 'since', 'limit', 'json']
};

const CLI_ACTOR: AdminActor = { username: 'cli' };

/** Which input an AdminError is about, as the command line spells it. */
const FLAG_OF: Readonly<Record<AdminError['argument'], string>> = {
  environment: '--env',
  client: '--client',
  user: '--user',
  event: '--event',
  outcome: '--outcome'
};

export async function adminCommand(loaded: LoadedConfig, args: ParsedArgs, io: CliIo): Promise<number> {
  const action = args.admin.action;
  if (action === undefined || !(action in ACTIONS)) {
    const known = Object.keys(ACTIONS).join(', ');
    throw new UsageError(
      action === undefined ? `admin needs an action: ${known}` : `unknown admin action: ${action} (actions: ${known})`
    );
  }
  const given = givenOptions(args);
  const allowed = ACTIONS[action] ?? [];
  const stray = given.find(option => !allowed.includes(option));
  if (stray !== undefined) throw new UsageError(`--${stray} is not an option of "sqlbridge admin ${action}"`);
  const config = requireEnvironments(loaded);
  // Checked before the store is opened: a mistyped name should not wait for Redis.
  if (args.environment !== undefined && !(args.environment in config.environments)) {
    throw new UsageError(
      `--env: there is no environment named "${args.environment}" (configured: ${Object.keys(config.environments).join(', ')})`
    );
  }
  const query = action === 'audit' ? auditQuery(args) : undefined;
  const admin = await openAdministration(config, createLogger('silent'));
  try {
    return await perform(admin, action, args, query, io);
  } catch (error) {
    if (error instanceof AdminError) throw new UsageError(`${FLAG_OF[error.argument]}: ${error.message}`);
    throw error;
  } finally {
    await admin.close();
  }
}

async function perform(
  admin: AdminService,
  action: string,
  args: ParsedArgs,
  query: AuditQuery | undefined,
  io: CliIo
): Promise<number> {
  const json = args.audit.json;
  const env = args.environment;
  const print = (value: unknown, text: string): void => io.out(json ? JSON.stringify(value, null, 2) : text);
  switch (action) {
    case 'clients': {
      const clients = await admin.clients({ ...optional('environment', env), ...optional('q', args.audit.search) });
      print(clients, clientsTable(clients));
      return 0;
    }
    case 'grants': {
      const grants = await admin.grants({
        ...optional('environment', env),
        ...optional('user', args.audit.user),
        ...optional('clientId', args.audit.client)
      });
      print(grants, grantsTable(grants));
      return 0;
    }
    case 'users': {
      const users = await admin.users(optional('q', args.audit.search));
      print(users, usersTable(users));
      return 0;
    }
    case 'audit': {
      const records = await admin.audit(query);
      if (json) io.out(JSON.stringify(records, null, 2));
      else if (records.length > 0) {
        const table = RecordTable.fitting(records);
        io.out([table.header(), ...records.map(record => table.row(record))].join('\n'));
      } else io.err('sqlbridge: no audit record matches');
      return 0;
    }
    case 'revoke-grant': {
      const grantId = required('--grant', args.admin.grant);
      const environments = env === undefined ? admin.environments() : [env];
      for (const environment of environments) {
        if (await admin.revokeGrant(environment, grantId, CLI_ACTOR)) {
          print({ revoked: true, environment, grantId }, `${environment}: grant ${grantId} revoked`);
          return 0;
        }
      }
      return notFound(io, json, `there is no grant ${grantId}${where(env)}`);
    }
    case 'delete-client': {
      const clientId = required('--client', args.audit.client);
      const deleted: string[] = [];
      for (const environment of env === undefined ? admin.environments() : [env]) {
        if (await admin.deleteClient(environment, clientId, CLI_ACTOR)) deleted.push(environment);
      }
      if (deleted.length === 0) return notFound(io, json, `there is no registered client ${clientId}${where(env)}`);
      print(
        { deleted: true, clientId, environments: deleted },
        deleted.map(environment => `${environment}: client ${clientId} deleted, its grants revoked`).join('\n')
      );
      return 0;
    }
    case 'disable-user':
    case 'enable-user': {
      const username = required('--user', args.audit.user);
      const disabled = action === 'disable-user';
      if (!(await admin.setUserDisabled(username, disabled, CLI_ACTOR))) {
        return notFound(io, json, `there is no user ${username}`);
      }
      print({ username, disabled }, `${username}: ${disabled ? 'disabled' : 'enabled'}`);
      return 0;
    }
    case 'rotate-keys': {
      const rotated = await admin.rotateKeys(env === undefined ? undefined : [env], CLI_ACTOR);
      print({ rotated }, rotated.map(name => `${name}: new signing key`).join('\n'));
      return 0;
    }
  }
  throw new UsageError(`unknown admin action: ${action}`);
}

function givenOptions(args: ParsedArgs): Option[] {
  const { audit } = args;
  const values: Record<Option, unknown> = {
    env: args.environment,
    user: audit.user,
    client: audit.client,
    grant: args.admin.grant,
    search: audit.search,
    event: audit.event,
    outcome: audit.outcome,
    since: audit.since,
    until: audit.until,
    limit: audit.limit,
    follow: audit.follow ? true : undefined,
    json: audit.json ? true : undefined
  };
  return (Object.keys(values) as Option[]).filter(option => values[option] !== undefined);
}

function auditQuery(args: ParsedArgs): AuditQuery {
  const { audit } = args;
  const query: AuditQuery = {
    ...optional('environment', args.environment),
    ...optional('user', audit.user),
    ...optional('clientId', audit.client),
    ...optional('event', audit.event),
    ...optional('outcome', audit.outcome)
  };
  if (audit.since !== undefined) {
    const since = parseTimeBound(audit.since, Date.now());
    if (since === undefined) {
      throw new UsageError(
        `--since must be an ISO date or time or a span ago (15m, 2h, 7d); got ${JSON.stringify(audit.since)}`
      );
    }
    query.since = since;
  }
  if (audit.limit !== undefined) {
    if (!/^\d{1,9}$/.test(audit.limit) || Number(audit.limit) === 0) {
      throw new UsageError(`--limit must be a whole number of at least 1 (got ${JSON.stringify(audit.limit)})`);
    }
    query.limit = Number(audit.limit);
  }
  return query;
}

function required(flag: string, value: string | undefined): string {
  if (value === undefined || value.trim() === '') throw new UsageError(`${flag} is required`);
  return value;
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}

function where(environment: string | undefined): string {
  return environment === undefined ? '' : ` in ${environment}`;
}

function notFound(io: CliIo, json: boolean, message: string): number {
  if (json) io.out(JSON.stringify({ error: 'not_found', message }));
  io.err(`sqlbridge: ${message}`);
  return 1;
}
