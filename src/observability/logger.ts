import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/** A field name, at the top of a log object and up to two levels down (`*` also steps into arrays). */
const atAnyDepth = (name: string): string[] => [name, `*.${name}`, `*.*.${name}`];

/**
 * Paths pino removes before a line is written. Secrets never reach a log line: connection
 * strings, passwords (and their hashes), client secrets, bearer and refresh tokens, PKCE verifiers,
 * cookies. A bare `code` is not among them: elsewhere in the log it is an error code (`request
 * refused`); an authorization code is removed where request parameters are (`query`, `body`,
 * `params`), and, like every configured secret, by value (redactSecrets).
 */
const REDACT_PATHS = [
  ...atAnyDepth('password'),
  ...atAnyDepth('passwordHash'),
  ...atAnyDepth('connectionString'),
  ...atAnyDepth('clientSecret'),
  ...atAnyDepth('client_secret'),
  ...atAnyDepth('token'),
  ...atAnyDepth('accessToken'),
  ...atAnyDepth('access_token'),
  ...atAnyDepth('refresh_token'),
  ...atAnyDepth('code_verifier'),
  ...atAnyDepth('authorization'),
  ...atAnyDepth('cookie'),
  'res.headers["set-cookie"]',
  '*.res.headers["set-cookie"]',
  ...['query', 'body', 'params'].flatMap(where => [`${where}.code`, `*.${where}.code`])
];

/** What a redacted value is replaced with, by path and by value alike. */
const CENSOR = '[redacted]';

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

/** Structured JSON logs on stderr (stdout belongs to the MCP protocol under stdio). */
export function createLogger(level: LevelWithSilent, destination: NodeJS.WritableStream | number = 2): Logger {
  const stream = typeof destination === 'number' ? pino.destination({ fd: destination, sync: true }) : destination;
  const secrets = new SecretValues();
  const logger = pino(
    {
      level,
      base: { service: 'sqlbridge' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: CENSOR },
      formatters: { level: label => ({ level: label }) },
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
