import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';
import { logTimestamp } from './iso-time.ts';
import { CENSOR, redactFields } from './redact-fields.ts';

export type { Logger };

/**
 * Values shorter than this are not redacted by value: replacing every occurrence of a short string
 * would blank ordinary words, numbers and field names throughout the log (a password "admin" would
 * take every "admin" with it). Such a secret is still removed where it is named (REDACT_PATHS).
 */
export const MIN_REDACTED_LENGTH = 8;

/** The values a logger's lines are cleaned of, shared by the logger and its children. */
const SECRET_VALUES = Symbol('sqlbridge.secretValues');

class SecretValues {
  /** Every form a value may take in a line, longest first (a value inside another goes with it). */
  private forms: string[] = [];

  add(values: Iterable<string>): void {
    const forms = new Set(this.forms);
    for (const value of values) {
      if (typeof value !== 'string' || value.length < MIN_REDACTED_LENGTH) continue;
      forms.add(value);
      // As a JSON string in the line, and inside JSON text logged as a string (a request body, a
      // serialised object), nested up to three deep: each level escapes it once more.
      let escaped = value;
      for (let depth = 0; depth < 3; depth++) {
        escaped = JSON.stringify(escaped).slice(1, -1);
        forms.add(escaped);
      }
      // Percent-encoded, as it is in a URL or a form body.
      forms.add(encodeURIComponent(value));
    }
    this.forms = [...forms].sort((a, b) => b.length - a.length);
  }

  redact(line: string): string {
    let clean = line;
    for (const form of this.forms) if (clean.includes(form)) clean = clean.replaceAll(form, CENSOR);
    return clean;
  }
}

/** How long a batched line may wait to be written, and how much is gathered before it is written at once. */
export const LOG_BATCH = { maxWaitMs: 250, bytes: 4096 } as const;

export interface LogWriting {
  /**
   * Lines written to a file descriptor are gathered and written together, once they come to
   * LOG_BATCH.bytes or at most LOG_BATCH.maxWaitMs after they were logged, and whatever is left when
   * the process exits is written before it does. A busy server writes a line per request: one
   * write per batch instead of one per line. `logger.flush()` writes what is gathered at once.
   */
  batched?: boolean;
}

/**
 * The file descriptor's stream: sonic-boom writing synchronously, so that nothing is waiting in
 * memory when the process ends, except what a batch gathers (written by the `exit` handler).
 */
function fdDestination(fd: number, writing: LogWriting): DestinationStream {
  if (writing.batched !== true) return pino.destination({ fd, sync: true });
  const stream = pino.destination({
    fd,
    sync: true,
    minLength: LOG_BATCH.bytes,
    periodicFlush: LOG_BATCH.maxWaitMs
  });
  process.once('exit', () => {
    try {
      stream.flushSync();
    } catch {
      // The descriptor is gone (a closed pipe): nothing can be written any more.
    }
  });
  return stream;
}

/** Structured JSON logs on stderr (stdout belongs to the MCP protocol under stdio). */
export function createLogger(
  level: LevelWithSilent,
  destination: NodeJS.WritableStream | number = 2,
  writing: LogWriting = {}
): Logger {
  const stream = typeof destination === 'number' ? fdDestination(destination, writing) : destination;
  const secrets = new SecretValues();
  const logger = pino(
    {
      level,
      base: { service: 'sqlbridge' },
      timestamp: logTimestamp,
      // Secrets by field name (redact-fields.ts) in what each line logs.
      formatters: { level: label => ({ level: label }), log: redactFields },
      // Each serialised line, just before it is written: whatever field, message or error text a
      // registered secret ended up in, it goes.
      hooks: { streamWrite: line => secrets.redact(line) }
    },
    stream
  );
  // Children (pino makes them with the logger as prototype) find it too.
  Object.defineProperty(logger, SECRET_VALUES, { value: secrets });
  return logger;
}

/**
 * Registers secret values (the configuration's passwords and client secrets: configuredSecrets in
 * config/secrets.ts) that `logger`, and every logger derived from it, replaces with "[redacted]"
 * wherever they appear in a line: raw, JSON-escaped or percent-encoded. Values shorter than
 * MIN_REDACTED_LENGTH are ignored. Call it once the configuration is loaded, before anything else
 * is logged.
 */
export function redactSecrets(logger: Logger, values: Iterable<string>): void {
  const secrets = (logger as unknown as Record<symbol, SecretValues | undefined>)[SECRET_VALUES];
  if (secrets === undefined) throw new TypeError('redactSecrets needs a logger made by createLogger');
  secrets.add(values);
}

/**
 * Node's own warnings (deprecations such as DEP0123, experimental features) as log lines like any
 * other, instead of the plain text Node prints on stderr, which would break a log of JSON lines.
 * Replaces Node's printer (the process's default `warning` listener) for the life of the process.
 */
export function logProcessWarnings(logger: Logger): void {
  process.removeAllListeners('warning');
  process.on('warning', (warning: Error & { code?: string }) => {
    logger.warn({ warning: warning.name, code: warning.code }, warning.message);
  });
}
