import { randomBytes, randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { PostgresAuditSink } from '../../src/audit/postgres-audit-sink.ts';
import type { AuditRecord } from '../../src/audit/record.ts';
import { SqliteAuditSink } from '../../src/audit/sqlite-audit-sink.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import { until } from '../helpers/shutdown.ts';
import { POSTGRES } from '../dialects/engines/postgres.ts';

function record(fields: Partial<AuditRecord> = {}): AuditRecord {
  return { id: randomUUID(), time: new Date().toISOString(), event: 'query.executed', outcome: 'ok', ...fields };
}

/** A record with every field set, and one with only those always present. */
const full = (): AuditRecord =>
  record({
    environment: 'production',
    requestId: 'req-7',
    user: 'ana',
    clientId: 'client-1',
    remoteAddress: '203.0.113.9',
    tool: 'run_query',
    statement: "SELECT * FROM orders WHERE note = 'it''s'",
    statementHash: 'ab'.repeat(32),
    durationMs: 1234,
    rows: 50,
    truncated: true,
    errorClass: 'query_timeout',
    detail: { kind: 'query', attempt: 2, cached: false }
  });
const minimal = (): AuditRecord => record({ event: 'server.started' });

const batch = (n: number): AuditRecord[] => Array.from({ length: n }, (_, i) => (i % 2 === 0 ? full() : minimal()));

/** A row read back, as the record it was written from (absent fields are NULL in the table). */
function asRecord(row: Record<string, unknown>): AuditRecord {
  const fields: Record<string, unknown> = {
    id: row['id'],
    time: row['time'] instanceof Date ? row['time'].toISOString() : row['time'],
    event: row['event'],
    outcome: row['outcome'],
    environment: row['environment'],
    requestId: row['request_id'],
    user: row['user_name'],
    clientId: row['client_id'],
    remoteAddress: row['remote_address'],
    tool: row['tool'],
    statement: row['statement'],
    statementHash: row['statement_hash'],
    durationMs: row['duration_ms'] === null ? null : Number(row['duration_ms']),
    rows: row['rows'] === null ? null : Number(row['rows']),
    truncated: row['truncated'] === null ? null : Boolean(row['truncated']),
    errorClass: row['error_class'],
    detail: typeof row['detail'] === 'string' ? JSON.parse(row['detail']) : row['detail']
  };
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== null)) as unknown as AuditRecord;
}

describe('SQLite audit sink', () => {
  const open = (): { path: string; sink: SqliteAuditSink } => {
    const path = join(emptyDir('audit-sqlite-'), 'audit', 'audit.sqlite');
    return { path, sink: new SqliteAuditSink(path, 'sqlbridge_audit') };
  };
  const rows = (path: string, table = 'sqlbridge_audit'): AuditRecord[] => {
    const db = new DatabaseSync(path, { readOnly: true });
    try {
      return (db.prepare(`SELECT * FROM ${table} ORDER BY rowid`).all() as Record<string, unknown>[]).map(asRecord);
    } finally {
      db.close();
    }
  };

  it('creates the file (0600, WAL) and the table with its indexes, and writes batches in order', async () => {
    const { path, sink } = open();
    const first = batch(5);
    const second = batch(3);
    await sink.write(first);
    await sink.write(second);
    expect(rows(path)).toEqual([...first, ...second]);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const db = new DatabaseSync(path, { readOnly: true });
    const journal = db.prepare('PRAGMA journal_mode').get() as { journal_mode: string };
    const indexes = db
      .prepare(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'sqlbridge_audit' AND sql IS NOT NULL"
      )
      .all()
      .map(row => row['name']);
    db.close();
    expect(journal.journal_mode).toBe('wal');
    expect(indexes.sort()).toEqual(['sqlbridge_audit_env_time', 'sqlbridge_audit_time', 'sqlbridge_audit_user_time']);
    await sink.close();
  });

  it('writes a retried batch once (same ids), and batches larger than one INSERT', async () => {
    const { path, sink } = open();
    const records = batch(1203);
    await sink.write(records);
    await sink.write(records);
    await sink.write(records.slice(1000));
    expect(rows(path)).toEqual(records);
    await sink.close();
  });

  it('fails while the table is unusable, naming it, and writes again once it is back', async () => {
    const { path, sink } = open();
    await sink.write(batch(2));
    const admin = new DatabaseSync(path);
    admin.exec('ALTER TABLE sqlbridge_audit RENAME TO sqlbridge_audit_away');
    const records = batch(2);
    await expect(sink.write(records)).rejects.toThrow(
      /cannot write the audit table sqlbridge_audit in .*no such table/
    );
    admin.exec('ALTER TABLE sqlbridge_audit_away RENAME TO sqlbridge_audit');
    admin.close();
    await sink.write(records);
    expect(rows(path).slice(-2)).toEqual(records);
    await sink.close();
  });

  it('fails when the file cannot be created, and creates it once it can', async () => {
    const dir = emptyDir('audit-sqlite-blocked-');
    const path = join(dir, 'audit.sqlite');
    const sink = new SqliteAuditSink(path, 'sqlbridge_audit');
    const { mkdirSync, rmSync } = await import('node:fs');
    mkdirSync(path);
    const records = batch(2);
    await expect(sink.write(records)).rejects.toThrow(`in ${path}`);
    rmSync(path, { recursive: true });
    await sink.write(records);
    expect(rows(path)).toEqual(records);
    await sink.close();
  });
});

describe('PostgreSQL audit sink', () => {
  // This machine's PostgreSQL trusts loopback: the password is ignored, and must never show in an error.
  const urlFor = (user: string): string =>
    `postgres://${user}:a-secret-password@${POSTGRES.host}:${POSTGRES.port}/${POSTGRES.database}`;
  const url = urlFor(POSTGRES.user);
  const logger = createLogger('silent');
  const tables: string[] = [];
  const sinks: PostgresAuditSink[] = [];

  const admin = async <T>(work: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client(POSTGRES);
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  };

  /** A sink on a table of its own (dropped after the test). */
  const sinkOn = (
    table = `audit_test_${randomBytes(6).toString('hex')}`
  ): { table: string; sink: PostgresAuditSink } => {
    tables.push(table, `${table}_away`);
    const sink = new PostgresAuditSink({ url, table, logger });
    sinks.push(sink);
    return { table, sink };
  };

  const rows = (table: string): Promise<AuditRecord[]> =>
    admin(async client => (await client.query(`SELECT * FROM "${table}" ORDER BY time, id`)).rows.map(asRecord));

  afterEach(async () => {
    await Promise.all(sinks.splice(0).map(sink => sink.close()));
    const names = tables.splice(0);
    await admin(async client => {
      for (const name of names) await client.query(`DROP TABLE IF EXISTS "${name}"`);
    });
  });

  it('creates the table with typed columns and its indexes, and writes batches', async () => {
    const { table, sink } = sinkOn();
    // Distinct times, so that reading back in time order is the order written.
    const records = batch(6).map((r, i) => ({ ...r, time: new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString() }));
    await sink.write(records.slice(0, 4));
    await sink.write(records.slice(4));
    expect(await rows(table)).toEqual(records);
    const types = await admin(async client => {
      const result = await client.query<{ column_name: string; data_type: string }>(
        'SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $1',
        [table]
      );
      return Object.fromEntries(result.rows.map(row => [row.column_name, row.data_type]));
    });
    expect(types).toMatchObject({
      id: 'text',
      time: 'timestamp with time zone',
      truncated: 'boolean',
      detail: 'jsonb',
      duration_ms: 'bigint',
      user_name: 'text'
    });
    const indexes = await admin(async client =>
      (
        await client.query<{ indexdef: string }>('SELECT indexdef FROM pg_indexes WHERE tablename = $1', [table])
      ).rows.map(row => row.indexdef.replace(/^.* USING btree /, ''))
    );
    expect(indexes.sort()).toEqual(['("time")', '(environment, "time")', '(id)', '(user_name, "time")']);
  });

  it('stores U+0000, which a caller can put in a tool name or a statement, as U+FFFD, and the batch with it', async () => {
    const { table, sink } = sinkOn();
    const time = (second: number): string => new Date(Date.UTC(2025, 0, 1, 0, 0, second)).toISOString();
    const poisoned = record({
      time: time(1),
      tool: 'x\u0000y',
      statement: "SELECT '\u0000'",
      detail: { note: 'a\u0000b', literal: '\\u0000' }
    });
    const plain = full();
    await sink.write([poisoned, { ...plain, time: time(2) }]);
    expect(await rows(table)).toEqual([
      {
        ...poisoned,
        tool: 'x\uFFFDy',
        statement: "SELECT '\uFFFD'",
        detail: { note: 'a\uFFFDb', literal: '\\u0000' }
      },
      { ...plain, time: time(2) }
    ]);
  });

  it('writes a retried batch once (same ids), and batches larger than one INSERT in one transaction', async () => {
    const { table, sink } = sinkOn();
    const records = batch(1500);
    await sink.write(records);
    await sink.write(records.slice(0, 10));
    await sink.write(records);
    const ids = (await rows(table)).map(r => r.id).sort();
    expect(ids).toEqual(records.map(r => r.id).sort());
  });

  it('fails a batch whose session the server ends mid-transaction, and nothing else; the next batch is written', async () => {
    const { table, sink } = sinkOn();
    await sink.write(batch(1));
    // A batch of two INSERTs, in one transaction, kept waiting on a lock while its session is ended.
    const records = batch(1500);
    const locker = new pg.Client(POSTGRES);
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query(`LOCK TABLE "${table}" IN EXCLUSIVE MODE`);
      const failure = sink.write(records).then(
        () => undefined,
        (error: unknown) => error as Error
      );
      const waiting = async (): Promise<number> =>
        admin(async client => {
          const result = await client.query(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'sqlbridge audit' AND wait_event_type = 'Lock'"
          );
          return result.rowCount ?? 0;
        });
      expect(await until(async () => (await waiting()) > 0, 5000)).toBe(true);
      await admin(client =>
        client.query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'sqlbridge audit' AND wait_event_type = 'Lock'"
        )
      );
      expect((await failure)?.message).toMatch(new RegExp(`^cannot write the audit table ${table} \\(PostgreSQL\\): `));
    } finally {
      await locker.end();
    }
    await sink.write(records);
    expect(await rows(table)).toHaveLength(1501);
  });

  it('fails while the table is renamed away, naming the table and not the URL, and writes again once it is back', async () => {
    const { table, sink } = sinkOn();
    await sink.write(batch(2));
    await admin(client => client.query(`ALTER TABLE "${table}" RENAME TO "${table}_away"`));
    const records = batch(3);
    const failure = await sink.write(records).then(
      () => undefined,
      (error: unknown) => error as Error
    );
    expect(failure?.message).toMatch(
      new RegExp(`^cannot write the audit table ${table} \\(PostgreSQL\\): .*does not exist`)
    );
    expect(failure?.message).not.toContain('a-secret-password');
    await admin(client => client.query(`ALTER TABLE "${table}_away" RENAME TO "${table}"`));
    await sink.write(records);
    const ids = new Set((await rows(table)).map(r => r.id));
    for (const r of records) expect(ids.has(r.id)).toBe(true);
    expect(ids.size).toBe(5);
  });

  it('writes with INSERT (and SELECT on id) on a table it did not create; fails while that is revoked, writes again once granted', async () => {
    const { table, sink: owner } = sinkOn();
    await owner.write(batch(1));
    const role = `audit_writer_${randomBytes(4).toString('hex')}`;
    await admin(async client => {
      await client.query(`CREATE ROLE ${role} LOGIN`);
      // SELECT on `id`: the conflict target of ON CONFLICT (id) DO NOTHING is read.
      await client.query(`GRANT INSERT, SELECT (id) ON "${table}" TO ${role}`);
    });
    try {
      const sink = new PostgresAuditSink({ url: urlFor(role), table, logger });
      sinks.push(sink);
      // A role that may only insert (and see ids: the least an audit writer needs) writes to a table it did not create.
      await sink.write(batch(1));
      await admin(client => client.query(`REVOKE INSERT ON "${table}" FROM ${role}`));
      const records = batch(2);
      await expect(sink.write(records)).rejects.toThrow(/permission denied/);
      await admin(client => client.query(`GRANT INSERT ON "${table}" TO ${role}`));
      await sink.write(records);
      expect(await rows(table)).toHaveLength(4);
    } finally {
      await Promise.all(sinks.splice(0).map(sink => sink.close()));
      await admin(async client => {
        await client.query(`DROP TABLE IF EXISTS "${table}"`);
        await client.query(`DROP ROLE IF EXISTS ${role}`);
      });
    }
  });

  it('keeps index names apart for the longest table name', async () => {
    const { table, sink } = sinkOn(`a${'b'.repeat(62)}`);
    await sink.write(batch(1));
    const count = await admin(
      async client =>
        (await client.query<{ n: string }>('SELECT count(*) AS n FROM pg_indexes WHERE tablename = $1', [table]))
          .rows[0]?.n
    );
    expect(count).toBe('4');
  });

  it('fails promptly when the server cannot be reached, without the URL in the error', async () => {
    const sink = new PostgresAuditSink({
      url: 'postgres://audit:a-secret-password@127.0.0.1:1/audit',
      table: 't',
      logger
    });
    sinks.push(sink);
    const started = Date.now();
    const failure = await sink.write(batch(1)).then(
      () => undefined,
      (error: unknown) => error as Error
    );
    expect(failure?.message).toMatch(/^cannot write the audit table t \(PostgreSQL\): /);
    expect(failure?.message).not.toContain('a-secret-password');
    expect(Date.now() - started).toBeLessThan(6000);
  });
});
