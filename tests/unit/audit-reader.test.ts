import { randomUUID } from 'node:crypto';
import { appendFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { FileAuditSink } from '../../src/audit/file-sink.ts';
import { matchesFilter, parseEventFilter, parseTimeBound, type AuditFilter } from '../../src/audit/filter.ts';
import { TrailReader } from '../../src/audit/reader.ts';
import { AUDIT_EVENTS, type AuditRecord } from '../../src/audit/record.ts';
import { printable, RecordTable, terminalSafeJson } from '../../src/audit/record-table.ts';
import { rotatedFiles } from '../../src/audit/trail-files.ts';
import { emptyDir } from '../helpers/data-dir.ts';

function record(fields: Partial<AuditRecord> = {}): AuditRecord {
  return {
    id: randomUUID(),
    time: new Date().toISOString(),
    event: 'query.executed',
    outcome: 'ok',
    environment: 'production',
    user: 'ana',
    tool: 'run_query',
    statement: 'SELECT 1',
    ...fields
  };
}

const batch = (n: number): AuditRecord[] => Array.from({ length: n }, () => record());

async function readAll(reader: TrailReader): Promise<AuditRecord[]> {
  const records: AuditRecord[] = [];
  for await (const stored of reader.records()) records.push(stored.record);
  return records;
}

describe('audit trail reader', () => {
  it('reads the rotated files oldest first, then the current file, each line as stored', async () => {
    const path = join(emptyDir('audit-read-'), 'audit.jsonl');
    const sink = new FileAuditSink({ path, maxBytes: 1024, maxFiles: 20 });
    const written = batch(30);
    for (const r of written) await sink.write([r]);
    expect((await rotatedFiles(path)).length).toBeGreaterThan(2);
    const reader = new TrailReader(path);
    const lines: string[] = [];
    for await (const stored of reader.records()) lines.push(stored.line);
    await reader.close();
    expect(lines).toEqual(written.map(r => JSON.stringify(r)));
  });

  it('skips lines that are not records and counts them', async () => {
    const path = join(emptyDir('audit-damaged-'), 'audit.jsonl');
    const [a, b] = [record(), record()];
    writeFileSync(path, `${JSON.stringify(a)}\nnot json\n{"id":"no time"}\n\n${JSON.stringify(b)}\n{"id":`);
    const reader = new TrailReader(path);
    expect(await readAll(reader)).toEqual([a, b]);
    await reader.close();
    // Two damaged lines; the empty line is nothing and the unfinished last line is a write in progress.
    expect(reader.damaged).toBe(2);
  });

  it('skips a line whose fields have the wrong types, as damaged, so no reader meets them', async () => {
    const path = join(emptyDir('audit-typed-'), 'audit.jsonl');
    const good = record();
    const wrong = [
      { ...good, user: 5 },
      { ...good, statement: ['SELECT 1'] },
      { ...good, rows: '3' },
      { ...good, truncated: 'no' },
      { ...good, detail: 'grant' },
      { ...good, detail: { nested: { x: 1 } } },
      [good]
    ];
    writeFileSync(path, [...wrong.map(value => JSON.stringify(value)), JSON.stringify(good), ''].join('\n'));
    const reader = new TrailReader(path);
    expect(await readAll(reader)).toEqual([good]);
    await reader.close();
    expect(reader.damaged).toBe(wrong.length);
  });

  it('follows what is appended, across several rotations between two polls, each record once', async () => {
    const path = join(emptyDir('audit-follow-'), 'audit.jsonl');
    const sink = new FileAuditSink({ path, maxBytes: 1024, maxFiles: 50 });
    const before = batch(2);
    await sink.write(before);
    const reader = new TrailReader(path);
    expect(await readAll(reader)).toEqual(before);
    const stop = new AbortController();
    const seen: AuditRecord[] = [];
    const following = (async () => {
      for await (const stored of reader.follow(stop.signal, 500)) seen.push(stored.record);
    })();
    const appended: AuditRecord[] = [];
    const rotationsBefore = (await rotatedFiles(path)).length;
    for (let n = 0; n < 20; n++) {
      const records = batch(2);
      appended.push(...records);
      await sink.write(records);
    }
    expect((await rotatedFiles(path)).length - rotationsBefore).toBeGreaterThan(2);
    await vi.waitFor(() => expect(seen).toHaveLength(appended.length), { timeout: 5000, interval: 50 });
    // The current file deleted (by an operator), then written again: followed into the new file.
    rmSync(path);
    const later = batch(2);
    await sink.write(later);
    await vi.waitFor(() => expect(seen).toHaveLength(appended.length + later.length), { timeout: 5000, interval: 50 });
    stop.abort();
    await following;
    await reader.close();
    expect(seen).toEqual([...appended, ...later]);
  });

  it('follows a line only once it is complete', async () => {
    const path = join(emptyDir('audit-partial-line-'), 'audit.jsonl');
    writeFileSync(path, '');
    const reader = new TrailReader(path);
    expect(await readAll(reader)).toEqual([]);
    const stop = new AbortController();
    const seen: AuditRecord[] = [];
    const following = (async () => {
      for await (const stored of reader.follow(stop.signal, 50)) seen.push(stored.record);
    })();
    const r = record();
    const line = JSON.stringify(r);
    appendFileSync(path, line.slice(0, 20));
    await new Promise(resolve => setTimeout(resolve, 200));
    expect(seen).toEqual([]);
    appendFileSync(path, `${line.slice(20)}\n`);
    await vi.waitFor(() => expect(seen).toEqual([r]), { timeout: 5000, interval: 50 });
    stop.abort();
    await following;
    await reader.close();
  });
});

describe('audit filters', () => {
  const now = Date.UTC(2025, 5, 15, 12, 0, 0);

  it('parses times: ISO dates and times (UTC unless an offset is given) and spans ago', () => {
    expect(parseTimeBound('15m', now)).toBe(now - 15 * 60_000);
    expect(parseTimeBound('2h', now)).toBe(now - 2 * 3_600_000);
    expect(parseTimeBound('7d', now)).toBe(now - 7 * 86_400_000);
    expect(parseTimeBound('2w', now)).toBe(now - 14 * 86_400_000);
    expect(parseTimeBound('30s', now)).toBe(now - 30_000);
    expect(parseTimeBound('2025-01-31', now)).toBe(Date.UTC(2025, 0, 31));
    expect(parseTimeBound('2025-01-31T08:00', now)).toBe(Date.UTC(2025, 0, 31, 8));
    expect(parseTimeBound('2025-01-31 08:00:05.5Z', now)).toBe(Date.UTC(2025, 0, 31, 8, 0, 5, 500));
    expect(parseTimeBound('2025-01-31T08:00:00+02:00', now)).toBe(Date.UTC(2025, 0, 31, 6));
    expect(parseTimeBound('2025-01-31T08:00:00-0130', now)).toBe(Date.UTC(2025, 0, 31, 9, 30));
    for (const bad of [
      'yesterday',
      '2025-02-30',
      '2025-13-01',
      '2025-01-31T25:00',
      '-1h',
      '15',
      '1y',
      '',
      '2025-1-5'
    ]) {
      expect(parseTimeBound(bad, now), bad).toBeUndefined();
    }
  });

  it('parses events: a name, a group with or without its dot, nothing else', () => {
    expect(parseEventFilter('query.executed')).toEqual({ name: 'query.executed' });
    expect(parseEventFilter('query.')).toEqual({ prefix: 'query.' });
    expect(parseEventFilter('auth')).toEqual({ prefix: 'auth.' });
    for (const bad of ['query.execute', 'qeury.', 'nope', '.']) expect(parseEventFilter(bad), bad).toBeUndefined();
  });

  it('matches users without regard to case, and everything else as stored', () => {
    const records = [
      record({ user: 'Ana' }),
      record({ user: 'ana', environment: 'staging' }),
      record({ user: 'bob', clientId: 'client-1' }),
      record({ user: undefined, event: 'server.started', tool: undefined, statement: undefined })
    ];
    const ids = (filter: AuditFilter): string[] => records.filter(r => matchesFilter(r, filter)).map(r => r.id);
    expect(ids({ user: 'ANA' })).toEqual([records[0]!.id, records[1]!.id]);
    expect(ids({ user: 'ana', environment: 'production' })).toEqual([records[0]!.id]);
    expect(ids({ environment: 'Production' })).toEqual([]);
    expect(ids({ clientId: 'client-1' })).toEqual([records[2]!.id]);
    expect(ids({ event: { prefix: 'server.' } })).toEqual([records[3]!.id]);
    expect(ids({ event: { name: 'query.executed' }, user: 'bob' })).toEqual([records[2]!.id]);
  });

  it('selects by time, both ends included', () => {
    const times = [0, 1, 2, 3].map(h => Date.UTC(2025, 0, 1, h));
    const records = times.map(t => record({ time: new Date(t).toISOString() }));
    const ids = (filter: AuditFilter): string[] => records.filter(r => matchesFilter(r, filter)).map(r => r.id);
    expect(ids({ since: times[1], until: times[2] })).toEqual([records[1]!.id, records[2]!.id]);
    expect(ids({ since: times[3]! + 1 })).toEqual([]);
  });

  it('searches statement, tool, user, client and error class without regard to case', () => {
    const records = [
      record({ statement: 'SELECT * FROM Orders' }),
      record({ statement: undefined, tool: 'list_orders' }),
      record({ user: 'orders-bot', statement: 'SELECT 1' }),
      record({ clientId: 'ORDERS-app', statement: 'SELECT 1' }),
      record({ errorClass: 'orders_locked', statement: 'SELECT 1' }),
      record({ environment: 'orders', statement: 'SELECT 1', detail: { table: 'orders' } })
    ];
    const found = records.filter(r => matchesFilter(r, { search: 'ORDERS' })).map(r => r.id);
    // Not the environment, not detail: they are filtered otherwise.
    expect(found).toEqual(records.slice(0, 5).map(r => r.id));
  });
});

describe('audit table', () => {
  it('aligns columns, marks cut results and absent fields, and keeps statements on one line', () => {
    const records = [
      record({
        user: 'ana',
        durationMs: 5,
        rows: 10,
        truncated: true,
        statement: 'SELECT *\n  FROM orders\tWHERE 1=1'
      }),
      record({
        user: 'a-much-longer-user-name',
        event: 'query.rejected',
        outcome: 'rejected',
        durationMs: 12345,
        errorClass: 'statement_rejected'
      }),
      record({
        event: 'server.started',
        user: undefined,
        tool: undefined,
        statement: undefined,
        environment: undefined
      })
    ];
    const table = RecordTable.fitting(records);
    const header = table.header();
    const rows = records.map(r => table.row(r));
    expect(header.split(/\s+/)).toEqual([
      'TIME',
      'EVENT',
      'OUTCOME',
      'ENV',
      'USER',
      'CLIENT',
      'TOOL',
      'DURATION',
      'ROWS',
      'ERROR',
      'STATEMENT'
    ]);
    for (const [i, r] of records.entries()) {
      const row = rows[i]!;
      expect(row.startsWith(r.time)).toBe(true);
      expect(row.slice(header.indexOf('EVENT')).startsWith(r.event)).toBe(true);
      expect(row.slice(header.indexOf('USER')).startsWith(r.user ?? '-')).toBe(true);
    }
    // Right-aligned numbers end where their titles end.
    const durationEnd = header.indexOf('DURATION') + 'DURATION'.length;
    expect(rows[0]!.slice(0, durationEnd).endsWith('5 ms')).toBe(true);
    expect(rows[1]!.slice(0, durationEnd).endsWith('12345 ms')).toBe(true);
    expect(rows[0]!.slice(header.indexOf('ROWS')).trimStart().startsWith('10+')).toBe(true);
    expect(rows[0]!.endsWith('SELECT * FROM orders WHERE 1=1')).toBe(true);
    expect(rows[2]!.split(/\s+/).filter(cell => cell === '-')).toHaveLength(8);
  });

  it('prints nothing a terminal would act on: control characters and bidi overrides become "?"', () => {
    const hostile = 'SELECT 1 \u001b[2J\u001b]0;pwned\u0007 \u202eevil\u202c \u009b31m';
    expect(printable(hostile)).toBe('SELECT 1 ?[2J?]0;pwned? ?evil? ?31m');
    const row = RecordTable.fitting([]).row(record({ statement: hostile, user: 'ana\u001b[8m' }));
    expect(row).not.toMatch(/[\p{Cc}\p{Bidi_C}]/u);
  });

  it('shows a zero-width space as "?" too, so that one before "admin" cannot pass for admin', () => {
    expect(printable('\u200badmin\u2060')).toBe('?admin?');
  });

  it('writes a JSON line (--json) with what a terminal would act on escaped, reading back as the same record', () => {
    const stored = JSON.stringify(
      record({ user: 'ana\u009b2J\u202eevil\u200b\u2028x\u{E0041}', statement: "SELECT 'é'" })
    );
    const safe = terminalSafeJson(stored);
    expect(safe).not.toMatch(/[\u007f-\u009f\p{Cf}\u2028\u2029]/u);
    expect(safe).toContain('ana\\u009b2J\\u202eevil\\u200b\\u2028x\\udb40\\udc41');
    expect(JSON.parse(safe)).toEqual(JSON.parse(stored));
    expect(terminalSafeJson('{"statement":"SELECT \'é\'"}')).toBe('{"statement":"SELECT \'é\'"}');
  });

  it('cuts long values with an ellipsis', () => {
    const r = record({ user: 'u'.repeat(60), statement: `SELECT ${'x, '.repeat(100)}1` });
    const row = RecordTable.fitting([r]).row(r);
    expect(row).toContain(`${'u'.repeat(23)}…`);
    expect(row.endsWith('…')).toBe(true);
    expect(row).not.toContain('u'.repeat(25));
  });

  it('knows every event name the trail writes', () => {
    for (const event of AUDIT_EVENTS) expect(parseEventFilter(event)).toEqual({ name: event });
  });
});
