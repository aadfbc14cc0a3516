import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RowSink } from '../../src/db/driver.ts';
import { SqliteProcess } from '../../src/db/dialects/sqlite/sqlite-process.ts';
import { createSqliteFixture } from '../helpers/sqlite-fixture.ts';

/**
 * The messages between the SQLite driver and its worker process: a result that fits in the first
 * batch comes back as one message (columns, rows and outcome together) answering one request; a
 * larger one is still read a batch at a time, as the driver asks for it, and a batch of wide rows
 * ends at about 64 KiB. Integers travel as numbers where a number holds them exactly.
 */

let worker: SqliteProcess;
const received: unknown[] = [];
const sent: unknown[] = [];

beforeAll(async () => {
  worker = new SqliteProcess({
    path: createSqliteFixture(),
    attach: {},
    readOnly: true,
    busyTimeoutMs: 1000,
    maxRowBytes: 16_777_216
  });
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

/** Runs one statement on the worker, with the logs of messages cleared first. */
async function run(sql: string, rowLimit?: number) {
  received.length = 0;
  sent.length = 0;
  const collected = collect(rowLimit);
  const stats = await worker.run(sql, [], [], {}, collected.sink, new AbortController().signal);
  return { ...collected, stats };
}

/** The kinds of the messages sent to the worker, in order. */
const sentKinds = (): string[] => sent.map(message => (message as { t: string }).t);

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
    const { rows, columns, stats } = await run('SELECT 1 AS a, 2 AS b');
    expect(columns).toEqual(['a', 'b']);
    expect(rows).toEqual([[1, 2]]);
    expect(stats).toEqual({ rowsRead: 1, stoppedEarly: false });
    expect(sent).toHaveLength(1);
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ t: 'batch', messages: [{ t: 'columns' }, { t: 'rows' }, { t: 'done' }] });
  });

  it('answers a 1000-row result (the default cap) in one exchange', async () => {
    const { rows, stats } = await run(series(1000));
    expect(stats.rowsRead).toBe(1000);
    expect(rows).toHaveLength(1000);
    expect(sent).toHaveLength(1);
    expect(received).toHaveLength(1);
  });

  it('reads a large result a batch at a time, every row in order', async () => {
    const { rows, stats } = await run(series(3000));
    expect(stats.rowsRead).toBe(3000);
    expect(rows.map(row => Number(row[0]))).toEqual(Array.from({ length: 3000 }, (_, i) => i + 1));
    // The query and one request for each further batch of 1024 rows.
    expect(sentKinds().filter(kind => kind === 'more')).toHaveLength(2);
    expect(sent).toHaveLength(3);
  });

  it('ends a batch of wide rows at about 64 KiB, so no message holds a whole large result', async () => {
    // 10 rows of 20,000 characters: four of them pass 64 KiB.
    const sql = `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10)
                 SELECT i, printf('%.*c', 20000, 'x') AS wide FROM n`;
    const { rows, stats } = await run(sql);
    expect(stats.rowsRead).toBe(10);
    expect(rows.every(row => String(row[1]).length === 20_000)).toBe(true);
    expect(rowBatches(received)).toEqual([4, 4, 2]);
    expect(sentKinds().filter(kind => kind === 'more')).toHaveLength(2);
  });

  it('sends the integers a number holds exactly as numbers, and every other integer as a bigint', async () => {
    const { rows } = await run(
      'SELECT 9007199254740991 AS max_exact, -9007199254740991 AS min_exact, 9007199254740992 AS past, -9007199254740992 AS below'
    );
    expect(rows).toEqual([[9007199254740991, -9007199254740991, 9007199254740992n, -9007199254740992n]]);
  });

  it('keeps the integers of declared decimal and boolean columns as SQLite returned them', async () => {
    const { rows } = await run('SELECT id, amount, big, flag, id * 2 AS doubled FROM typed ORDER BY id');
    expect(rows).toEqual([
      [1, 19.99, 9223372036854775807n, 1n, 2],
      [2, 20n, -9007199254740993n, 0n, 4],
      [3, 0.1, 42, null, 6]
    ]);
  });

  it('stops the worker when the sink has had enough', async () => {
    const { rows, stats } = await run(series(1000), 10);
    expect(rows).toHaveLength(10);
    expect(stats.stoppedEarly).toBe(true);
    expect(sentKinds()).toEqual(['query', 'stop']);
  });
});
