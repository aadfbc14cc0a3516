import { parseArgs } from 'node:util';
import type { CliOverrides } from '../config/load.ts';

/** The command line: `sqlbridge [command] [options]`. */

export const COMMANDS = [
  'serve',
  'demo',
  'stdio',
  'check',
  'hash-password',
  'rotate-keys',
  'audit',
  'admin',
  'backup',
  'restore',
  'help'
] as const;
export type Command = (typeof COMMANDS)[number];

export interface ParsedArgs {
  command: Command;
  overrides: CliOverrides;
  /** `--env`: the environment `stdio` serves (`rotate-keys`: rotates; `audit`: shows). */
  environment: string | undefined;
  demo: boolean;
  help: boolean;
  version: boolean;
  /** The options of `sqlbridge audit`, as given (the command checks their values). */
  audit: AuditFlags;
  /** The options of `sqlbridge backup` and `sqlbridge restore`. */
  backup: BackupRestoreFlags;
  /** `sqlbridge admin <action>`: the action and its own option (it also reads the audit options it shares). */
  admin: AdminFlags;
}

export interface AdminFlags {
  action: string | undefined;
  grant: string | undefined;
}

export interface BackupRestoreFlags {
  out: string | undefined;
  from: string | undefined;
  force: boolean;
  includeDemo: boolean;
}

export interface AuditFlags {
  user: string | undefined;
  client: string | undefined;
  since: string | undefined;
  until: string | undefined;
  outcome: string | undefined;
  event: string | undefined;
  search: string | undefined;
  limit: string | undefined;
  json: boolean;
  follow: boolean;
}

/** Options only `sqlbridge audit` takes: given to another command, they are a mistake, not ignored. */
const AUDIT_OPTIONS = [
  'user',
  'client',
  'since',
  'until',
  'outcome',
  'event',
  'search',
  'limit',
  'json',
  'follow'
] as const;

/** Options of `sqlbridge backup` / `sqlbridge restore`, by the command that takes them. */
const BACKUP_OPTIONS = { out: 'backup', 'include-demo': 'backup', from: 'restore', force: 'restore' } as const;

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function parseCommandLine(argv: readonly string[]): ParsedArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: 'string', short: 'c' },
        host: { type: 'string' },
        port: { type: 'string', short: 'p' },
        'data-dir': { type: 'string' },
        'log-level': { type: 'string' },
        env: { type: 'string', short: 'e' },
        demo: { type: 'boolean' },
        'no-auth': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
        user: { type: 'string' },
        client: { type: 'string' },
        since: { type: 'string' },
        until: { type: 'string' },
        outcome: { type: 'string' },
        event: { type: 'string' },
        search: { type: 'string' },
        limit: { type: 'string' },
        json: { type: 'boolean' },
        follow: { type: 'boolean', short: 'f' },
        out: { type: 'string' },
        'include-demo': { type: 'boolean' },
        from: { type: 'string' },
        force: { type: 'boolean' },
        grant: { type: 'string' }
      }
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const unknown = /^Unknown option '([^']+)'/.exec(message)?.[1];
    throw new UsageError(unknown === undefined ? message : `unknown option ${unknown}`);
  }
  const { values, positionals } = parsed;
  const [first, ...rest] = positionals;
  const command = first ?? 'serve';
  // `sqlbridge admin <action>`: the one command with a second word.
  const operands = command === 'admin' ? rest.slice(1) : rest;
  if (operands.length > 0) throw new UsageError(`unexpected argument: ${operands[0] ?? ''}`);
  if (!isCommand(command)) throw new UsageError(`unknown command: ${command} (commands: ${COMMANDS.join(', ')})`);
  const misplaced = AUDIT_OPTIONS.find(name => values[name] !== undefined);
  if (
    command !== 'audit' &&
    command !== 'admin' &&
    command !== 'help' &&
    values.help !== true &&
    misplaced !== undefined
  ) {
    throw new UsageError(`--${misplaced} is an option of "sqlbridge audit"`);
  }
  if (values.grant !== undefined && command !== 'admin' && values.help !== true) {
    throw new UsageError('--grant is an option of "sqlbridge admin"');
  }
  for (const [name, owner] of Object.entries(BACKUP_OPTIONS)) {
    if (values[name as keyof typeof BACKUP_OPTIONS] !== undefined && command !== owner && values.help !== true) {
      throw new UsageError(`--${name} is an option of "sqlbridge ${owner}"`);
    }
  }
  return {
    command,
    overrides: {
      config: values.config,
      host: values.host,
      port: values.port,
      dataDir: values['data-dir'],
      logLevel: values['log-level'],
      noAuth: values['no-auth'] === true
    },
    environment: values.env,
    demo: values.demo === true,
    help: values.help === true,
    version: values.version === true,
    audit: {
      user: values.user,
      client: values.client,
      since: values.since,
      until: values.until,
      outcome: values.outcome,
      event: values.event,
      search: values.search,
      limit: values.limit,
      json: values.json === true,
      follow: values.follow === true
    },
    backup: {
      out: values.out,
      from: values.from,
      force: values.force === true,
      includeDemo: values['include-demo'] === true
    },
    admin: { action: command === 'admin' ? rest[0] : undefined, grant: values.grant }
  };
}

function isCommand(value: string): value is Command {
  return (COMMANDS as readonly string[]).includes(value);
}
