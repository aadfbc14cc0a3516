import { loadConfig } from '../config/load.ts';
import { ConfigError } from '../errors/config-error.ts';
import { VERSION } from '../version.ts';
import { parseCommandLine, UsageError } from './args.ts';
import { HELP } from './help.ts';
import type { CliIo } from './io.ts';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_CONFIG = 2;

export interface RunContext {
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  io: CliIo;
  /** What `hash-password` reads the password from. */
  stdin?: NodeJS.ReadableStream;
}

/** Runs the CLI and returns its exit code. Configuration and usage errors are one message and code 2. */
export async function run(argv: readonly string[], context: RunContext): Promise<number> {
  const { io } = context;
  try {
    const args = parseCommandLine(argv);
    if (args.help || args.command === 'help') {
      io.out(HELP);
      return EXIT_OK;
    }
    if (args.version) {
      io.out(VERSION);
      return EXIT_OK;
    }
    // Each command loads only its own modules: a server start reads none of the admin, backup or
    // key-rotation code, and the CLI commands none of the server's.
    if (args.command === 'hash-password') {
      const { hashPasswordCommand } = await import('./commands/hash-password.ts');
      return await hashPasswordCommand(context.stdin, io);
    }
    const demo = args.demo || args.command === 'demo';
    const load = () => loadConfig({ cli: args.overrides, env: context.env, cwd: context.cwd, demo });
    const loaded = load();
    switch (args.command) {
      case 'serve':
      case 'demo': {
        const { serveCommand } = await import('./commands/serve.ts');
        return await serveCommand(loaded, io, load);
      }
      case 'stdio': {
        const { stdioCommand } = await import('./commands/stdio.ts');
        return await stdioCommand(loaded, args.environment);
      }
      case 'check': {
        const { checkCommand } = await import('./commands/check.ts');
        return await checkCommand(loaded, io);
      }
      case 'rotate-keys': {
        const { rotateKeysCommand } = await import('./commands/rotate-keys.ts');
        return await rotateKeysCommand(loaded, args.environment, io);
      }
      case 'audit': {
        const { auditCommand } = await import('./commands/audit.ts');
        return await auditCommand(loaded, args.audit, args.environment, io);
      }
      case 'admin': {
        const { adminCommand } = await import('./commands/admin.ts');
        return await adminCommand(loaded, args, io);
      }
      case 'backup': {
        const { backupCommand } = await import('./commands/backup.ts');
        return await backupCommand(loaded, args.backup, context.cwd, io);
      }
      case 'restore': {
        const { restoreCommand } = await import('./commands/restore.ts');
        return await restoreCommand(loaded, args.backup, context.cwd, io);
      }
    }
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`sqlbridge: ${error.message}\nRun "sqlbridge --help" for usage.`);
      return EXIT_CONFIG;
    }
    if (error instanceof ConfigError) {
      io.err(`sqlbridge: ${error.message}`);
      return EXIT_CONFIG;
    }
    io.err(`sqlbridge: ${failureText(error)}`);
    return EXIT_FAILURE;
  }
  return EXIT_OK;
}

/**
 * What a failed command prints. A failure of the machine around it (a file or directory it cannot
 * create or open: `EACCES: permission denied, mkdir '/srv/data/auth'`) or one sqlbridge words for the
 * operator (`auth.storage: …`) is its message, one line; anything else is a bug, printed with its stack.
 */
function failureText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  const system = typeof code === 'string' && /^E[A-Z]+$/.test(code);
  if (system || /^[a-z][A-Za-z0-9]*(?:\.[A-Za-z0-9]+)*: /.test(error.message)) return error.message;
  return error.stack ?? error.message;
}
