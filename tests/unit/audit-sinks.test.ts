import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { FileAuditSink } from '../../src/audit/file-sink.ts';
import { LogAuditSink } from '../../src/audit/log-sink.ts';
import type { AuditRecord } from '../../src/audit/record.ts';
import { createAuditSinks } from '../../src/audit/sinks.ts';
import { SqliteAuditSink } from '../../src/audit/sqlite-audit-sink.ts';
import { configSchema, type ConfigInput } from '../../src/config/schema.ts';
import { createLogger } from '../../src/observability/logger.ts';

function record(fields: Partial<AuditRecord> = {}): AuditRecord {
  return {
    id: randomUUID(),
    time: new Date().toISOString(),
    event: 'query.executed',
    outcome: 'ok',
    environment: 'production',
    user: 'ana',
    statement: 'SELECT 1',
    durationMs: 3,
    rows: 1,
    truncated: false,
    detail: { kind: 'query' },
    ...fields
  };
}

/** A logger writing into memory; its JSON lines, parsed. */
function capturedLogger(level: 'info' | 'warn'): {
  logger: ReturnType<typeof createLogger>;
  lines: () => Record<string, unknown>[];
} {
  const stream = new PassThrough();
  let text = '';
  stream.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  return {
    logger: createLogger(level, stream),
    lines: () =>
      text
        .split('\n')
        .filter(line => line !== '')
        .map(line => JSON.parse(line) as Record<string, unknown>)
  };
}

const flushed = (): Promise<void> => new Promise(resolve => setImmediate(resolve));

describe('audit log sink', () => {
  it('writes each record at info, message "audit", its fields under `audit`', async () => {
    const { logger, lines } = capturedLogger('info');
    const sink = new LogAuditSink(logger);
    const records = [record(), record({ user: 'bob', event: 'auth.login_failed', outcome: 'rejected' })];
    await sink.write(records);
    await flushed();
    const logged = lines();
    expect(logged.map(line => line['msg'])).toEqual(['audit', 'audit']);
    expect(logged.map(line => line['level'])).toEqual(['info', 'info']);
    expect(logged.map(line => line['audit'])).toEqual(records);
    await sink.close();
  });

  it('still writes audit lines when the log level is above info (they were asked for), and nothing else at info', async () => {
    const { logger, lines } = capturedLogger('warn');
    const sink = new LogAuditSink(logger);
    const r = record();
    logger.info('an ordinary info line');
    await sink.write([r]);
    await flushed();
    expect(lines().map(line => [line['msg'], line['audit']])).toEqual([['audit', r]]);
  });
});

describe('createAuditSinks', () => {
  const config = (input: ConfigInput) => configSchema.parse({ dataDir: '/srv/sqlbridge', ...input });
  const logger = createLogger('silent');

  it('writes the JSON Lines file in the data directory by default', () => {
    const sinks = createAuditSinks(config({}), logger);
    expect(sinks.map(sink => sink.name)).toEqual(['file']);
    expect((sinks[0] as FileAuditSink).path).toBe(join('/srv/sqlbridge', 'audit', 'audit.jsonl'));
  });

  it('builds the log and database sinks it is configured with, paths relative to the data directory', async () => {
    const sqlite = createAuditSinks(
      config({
        audit: { file: { enabled: false }, log: true, database: { engine: 'sqlite', path: 'x/trail.sqlite' } }
      }),
      logger
    );
    expect(sqlite.map(sink => sink.name)).toEqual(['log', 'sqlite']);
    expect((sqlite[1] as SqliteAuditSink).path).toBe(join('/srv/sqlbridge', 'x', 'trail.sqlite'));
    const absolute = createAuditSinks(config({ audit: { file: { path: '/var/log/sqlbridge/audit.jsonl' } } }), logger);
    expect((absolute[0] as FileAuditSink).path).toBe('/var/log/sqlbridge/audit.jsonl');
    const postgres = createAuditSinks(
      config({ audit: { database: { engine: 'postgres', url: 'postgres://audit@127.0.0.1:5432/test' } } }),
      logger
    );
    expect(postgres.map(sink => sink.name)).toEqual(['file', 'postgres']);
    // Nothing was opened: closing the pool is all there is.
    await Promise.all([...sqlite, ...absolute, ...postgres].map(sink => sink.close()));
  });

  it('refuses a table name that is not a plain identifier, even past the configuration schema', () => {
    expect(() => new SqliteAuditSink('/tmp/x.sqlite', 'audit; DROP TABLE users')).toThrow(/invalid audit table name/);
    expect(() => config({ audit: { database: { engine: 'sqlite', table: 'a"b' } } })).toThrow();
  });
});
