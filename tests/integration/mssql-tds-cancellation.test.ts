import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DatabaseRuntime } from '../../src/db/runtime.ts';
import { isSqlbridgeError } from '../../src/errors/sqlbridge-error.ts';
import { until } from '../helpers/shutdown.ts';
import { TdsPeer, type RecordedRequest } from '../helpers/tds/tds-peer.ts';
import { peerDatabase, peerRuntime, serverInfoReply, sqlOf } from '../helpers/tds/tds-runtime.ts';
import { resultSet } from '../helpers/tds/tokens.ts';
import { ATTENTION_GRACE_MS } from '../../src/db/dialects/mssql/mssql-driver.ts';

/**
 * Cancellation on SQL Server, proven on the wire against a TDS peer: a timeout or a client that goes
 * away sends ATTENTION and waits for the server's acknowledgement; only an acknowledged cancel is
 * reported as done on the database, and a connection whose cancel was never acknowledged is dropped.
 * A session the server ends mid-statement fails that call at once, and only that call.
 */

const SLOW = 'SELECT id FROM dbo.orders /* slow */';
/** More rows than a result may hold (TEST_LIMITS.maxRows, 100), streamed by a statement still running. */
const CAPPED = 'SELECT id FROM dbo.orders /* capped */';
const CAPPED_ROWS = Array.from({ length: 300 }, (_, i) => [i + 1]);
const FAST = 'SELECT 1 AS one';
const QUERY_TIMEOUT_MS = 1500;

let peer: TdsPeer;
let db: DatabaseRuntime;
/** LOGIN7s once connected. */
let logins: number;

function respond(request: RecordedRequest) {
  const sql = sqlOf(request);
  if (sql === SLOW) return { hold: true };
  // Without its closing DONE: the statement is still running when the rows run past the cap.
  if (sql === CAPPED) return { tokens: resultSet([{ name: 'id', type: 'int' }], CAPPED_ROWS).slice(0, -1), hold: true };
  if (sql === FAST) return { tokens: resultSet([{ name: 'one', type: 'int' }], [[1]]) };
  return serverInfoReply(request);
}

async function failure(work: Promise<unknown>): Promise<{ code: string; message: string; elapsedMs: number }> {
  const started = performance.now();
  try {
    await work;
  } catch (error) {
    if (!isSqlbridgeError(error)) throw error;
    return { code: error.code, message: error.message, elapsedMs: performance.now() - started };
  }
  throw new Error('the query succeeded');
}

/** What the peer received from the slow statement on, in order, and on which connection. */
function afterSlow(): string[] {
  return afterSlowOf(SLOW);
}

function afterSlowOf(statement: string): string[] {
  const at = peer.requests.findIndex(r => sqlOf(r) === statement);
  const connection = peer.requests[at]?.connection;
  return peer.requests.slice(at).map(r => `${r.kind} on ${r.connection === connection ? 'its' : 'another'} connection`);
}

function connectionOf(sql: string): number | undefined {
  return peer.requests.find(r => sqlOf(r) === sql)?.connection;
}

beforeEach(async () => {
  peer = await new TdsPeer({ respond }).listen();
  db = peerRuntime(peerDatabase(peer), { queryTimeoutMs: QUERY_TIMEOUT_MS });
  await db.init();
  logins = peer.logins.length;
});

afterEach(async () => {
  await db.close();
  await peer.close();
});

describe('a server that acknowledges the attention', () => {
  it('stops a statement at the timeout, says it was cancelled on the database, and keeps the connection', async () => {
    const result = await failure(db.query(SLOW));
    expect(result.code).toBe('query_timeout');
    expect(result.message).toMatch(/was cancelled on the database$/);
    expect(result.elapsedMs).toBeLessThan(QUERY_TIMEOUT_MS + 700);
    // ATTENTION, then the read-only transaction rolled back on the same connection.
    expect(afterSlow().slice(0, 3)).toEqual([
      'rpc on its connection',
      'attention on its connection',
      'rollback on its connection'
    ]);
    expect((await db.query(FAST)).rows).toEqual([[1]]);
    expect(connectionOf(FAST)).toBe(connectionOf(SLOW));
    expect(peer.logins).toHaveLength(logins);
  });

  it('stops a statement whose client went away', async () => {
    const client = new AbortController();
    setTimeout(() => client.abort(new Error('Connection closed')), 300);
    const result = await failure(db.query(SLOW, { signal: client.signal }));
    expect(result).toMatchObject({ code: 'query_cancelled', message: 'the query was cancelled by the client' });
    expect(result.elapsedMs).toBeLessThan(1000);
    expect(afterSlow().slice(0, 3)).toEqual([
      'rpc on its connection',
      'attention on its connection',
      'rollback on its connection'
    ]);
    expect(peer.logins).toHaveLength(logins);
  });
});

describe('a read cut at the row cap', () => {
  // With XACT_ABORT on, SQL Server rolls the transaction back when the attention arrives: the read's
  // own ROLLBACK then finds none. Whether it says so in the cancelled response or not, the read has
  // the rows it wanted.
  it.each(['keep', 'in-response', 'silent'] as const)(
    'answers with its first rows when the attention leaves the transaction %s',
    async mode => {
      peer.attentionRollback = mode;
      const outcome = await db.query(CAPPED);
      expect(outcome.rows).toEqual(CAPPED_ROWS.slice(0, 100));
      expect(outcome.truncated).toBe('max_rows');
      expect(afterSlowOf(CAPPED).slice(0, 2)).toEqual(['rpc on its connection', 'attention on its connection']);
      expect((await db.query(FAST)).rows).toEqual([[1]]);
    }
  );
});

describe('a server that never acknowledges the attention', () => {
  beforeEach(() => {
    peer.attention = 'ignore';
  });

  it('answers after a short grace that the statement may still run, and drops the connection', async () => {
    const result = await failure(db.query(SLOW));
    expect(result.code).toBe('query_timeout');
    expect(result.message).toMatch(/stopped waiting.*may still run/);
    expect(result.message).not.toMatch(/was cancelled on the database/);
    // Promptly: the query timeout, the grace, and nothing like tedious's default 5 s on top.
    expect(result.elapsedMs).toBeGreaterThanOrEqual(QUERY_TIMEOUT_MS + ATTENTION_GRACE_MS - 50);
    expect(result.elapsedMs).toBeLessThan(QUERY_TIMEOUT_MS + ATTENTION_GRACE_MS + 1000);
    expect(afterSlow()).toEqual(['rpc on its connection', 'attention on its connection']);

    // The next caller gets a new connection: one more LOGIN7, and its statement arrives on it.
    expect((await db.query(FAST)).rows).toEqual([[1]]);
    expect(peer.logins).toHaveLength(logins + 1);
    expect(connectionOf(FAST)).not.toBe(connectionOf(SLOW));
  });

  it('says so for a client that went away too', async () => {
    const client = new AbortController();
    setTimeout(() => client.abort(new Error('Connection closed')), 300);
    const result = await failure(db.query(SLOW, { signal: client.signal }));
    expect(result.code).toBe('query_cancelled');
    expect(result.message).toMatch(/cancelled by the client.*may still run/);
    expect(result.elapsedMs).toBeLessThan(300 + ATTENTION_GRACE_MS + 1000);
    expect((await db.query(FAST)).rows).toEqual([[1]]);
    expect(peer.logins).toHaveLength(logins + 1);
  });
});

describe('a server that ends the session mid-statement', () => {
  it('fails that call at once with a connection error; the next call runs on a new connection', async () => {
    const running = failure(db.query(SLOW));
    expect(await until(() => connectionOf(SLOW) !== undefined, 2000)).toBe(true);
    peer.dropConnections();
    const result = await running;
    expect(result.code).toBe('connection_failed');
    expect(result.elapsedMs).toBeLessThan(QUERY_TIMEOUT_MS);
    expect((await db.query(FAST)).rows).toEqual([[1]]);
    expect(peer.logins).toHaveLength(logins + 1);
    expect(connectionOf(FAST)).not.toBe(connectionOf(SLOW));
  });
});
