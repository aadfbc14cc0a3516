import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RowSink } from '../../src/db/driver.ts';
import { SqliteProcess } from '../../src/db/dialects/sqlite/sqlite-process.ts';
import { createSqliteFixture } from '../helpers/sqlite-fixture.ts';

/**
 * The messages between the SQLite driver and its worker process: a result that fits in the first
 * batch comes back as one message (columns, rows and outcome together) answering one request; a
 * larger one is still read a batch at a time, as the driver asks for it, and a batch of wide rows
 * ends at about 64 KiB.
 */

let worker: SqliteProcess;
const received: unknown[] = [];
const sent: unknown[] = [];

beforeAll(async () => {
  worker = new SqliteProcess({ path: createSqliteFixture(), attach: {}, readOnly: true, busyTimeoutMs: 1000 });
  await worker.ready;
  const child = (worker as unknown as { child: ChildProcess }).child;
  child.on('message', message => received.push(message));
  const send = child.send.bind(child);
  child.send = (message: unknown, ...rest: never[]) => {
    sent.push(message);
    return send(message as never, ...rest);
  };
});

afterAll(async () => {
  await worker.close();
});

function collect(rowLimit?: number): { sink: RowSink; rows: unknown[][]; columns: string[] } {
  const rows: unknown[][] = [];
  const columns: string[] = [];
  const sink: RowSink = {
    columns: cols => columns.push(...cols.map(c => c.name)),
    row: values => {
      rows.push([...values]);
      return rowLimit === undefined || rows.length < rowLimit;
    },
    ...(rowLimit === undefined ? {} : { rowLimit })
  };
  return { sink, rows, columns };
}

const series = (count: number): string =>
  `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${count}) SELECT i FROM n`;

/** The number of rows in each `rows` message the worker sent, batched or not. */
function rowBatches(messages: readonly unknown[]): number[] {
  return messages
    .flatMap(message => {
      const m = message as { t: string; messages?: unknown[] };
      return m.t === 'batch' ? (m.messages ?? []) : [m];
    })
    .filter(message => (message as { t: string }).t === 'rows')
    .map(message => (message as { rows: unknown[] }).rows.length);
}

describe('SQLite worker messages', () => {
  it('answers a small query with one message to one request', async () => {
    received.length = 0;
    sent.length = 0;
    const { sink, rows, columns } = collect();
    const stats = await worker.run('SELECT 1 AS a, 2 AS b', [], [], {}, sink, new AbortController().signal);
    expect(columns).toEqual(['a', 'b']);
    expect(rows).toEqual([[1n, 2n]]);
    expect(stats).toEqual({ rowsRead: 1, stoppedEarly: false });
    expect(sent).toHaveLength(1);
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ t: 'batch', messages: [{ t: 'columns' }, { t: 'rows' }, { t: 'done' }] });
  });

  it('answers a 1000-row result (the default cap) in one exchange', async () => {
    received.length = 0;
    sent.length = 0;
    const { sink, rows } = collect();
    const stats = await worker.run(series(1000), [], [], {}, sink, new AbortController().signal);
    expect(stats.rowsRead).toBe(1000);
    expect(rows).toHaveLength(1000);
    expect(sent).toHaveLength(1);
    expect(received).toHaveLength(1);
  });

  it('reads a large result a batch at a time, every row in order', async () => {
    received.length = 0;
    sent.length = 0;
    const { sink, rows } = collect();
    const stats = await worker.run(series(3000), [], [], {}, sink, new AbortController().signal);
    expect(stats.rowsRead).toBe(3000);
    expect(rows.map(row => Number(row[0]))).toEqual(Array.from({ length: 3000 }, (_, i) => i + 1));
    // The query and one request for each further batch of 1024 rows.
    expect(sent.filter(message => (message as { t: string }).t === 'more')).toHaveLength(2);
    expect(sent).toHaveLength(3);
  });

  it('ends a batch of wide rows at about 64 KiB, so no message holds a whole large result', async () => {
    received.length = 0;
    sent.length = 0;
    const { sink, rows } = collect();
    // 10 rows of 20,000 characters: four of them pass 64 KiB.
    const sql = `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10)
                 SELECT i, printf('%.*c', 20000, 'x') AS wide FROM n`;
    const stats = await worker.run(sql, [], [], {}, sink, new AbortController().signal);
    expect(stats.rowsRead).toBe(10);
    expect(rows.every(row => String(row[1]).length === 20_000)).toBe(true);
    expect(rowBatches(received)).toEqual([4, 4, 2]);
    expect(sent.filter(message => (message as { t: string }).t === 'more')).toHaveLength(2);
  });

  it('stops the worker when the sink has had enough', async () => {
    sent.length = 0;
    const { sink, rows } = collect(10);
    const stats = await worker.run(series(1000), [], [], {}, sink, new AbortController().signal);
    expect(rows).toHaveLength(10);
    expect(stats.stoppedEarly).toBe(true);
    expect(sent.map(message => (message as { t: string }).t)).toEqual(['query', 'stop']);
  });
});
