import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/**
 * Paths pino removes before a line is written. Secrets never reach a log line: connection
 * strings, passwords, bearer tokens, cookies.
 */
const REDACT_PATHS = [
  'password',
  '*.password',
  'connectionString',
  '*.connectionString',
  'token',
  '*.token',
  'accessToken',
  '*.accessToken',
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]'
];

/** Structured JSON logs on stderr (stdout belongs to the MCP protocol under stdio). */
export function createLogger(level: LevelWithSilent, destination: NodeJS.WritableStream | number = 2): Logger {
  const stream = typeof destination === 'number' ? pino.destination({ fd: destination, sync: true }) : destination;
  return pino(
    {
      level,
      base: { service: 'sqlbridge' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      formatters: { level: label => ({ level: label }) }
    },
    stream
  );
}
