import { afterEach, describe, expect, it } from 'vitest';
import { COLUMNS, LIST_TABLES, OBJECT_ID } from '../../src/db/dialects/mssql/mssql-catalog.ts';
import type { DatabaseRuntime } from '../../src/db/runtime.ts';
import { SP_EXECUTESQL } from '../helpers/tds/requests.ts';
import { TdsPeer, type RecordedRequest, type Reply } from '../helpers/tds/tds-peer.ts';
import { peerDatabase, peerRuntime, serverInfoReply, sqlOf } from '../helpers/tds/tds-runtime.ts';
import { DONE, done, error, resultSet } from '../helpers/tds/tokens.ts';

/**
 * What sqlbridge sends SQL Server around each statement, recorded by a TDS peer: the read-only
 * transaction and its rollback, the caller's identity as bound parameters, the connection reset
 * between callers, and the catalog queries behind list_tables and describe_table.
 */

const FAST = 'SELECT 1 AS one';
const BROKEN = 'SELECT * FROM dbo.missing';

let peer: TdsPeer;
let db: DatabaseRuntime;

async function start(respond: (request: RecordedRequest) => Reply | undefined, identity?: Record<string, string>) {
  peer = await new TdsPeer({ respond: r => respond(r) ?? serverInfoReply(r) }).listen();
  db = peerRuntime(peerDatabase(peer), identity === undefined ? {} : { identity });
  await db.init();
}

function basic(request: RecordedRequest): Reply | undefined {
  const sql = sqlOf(request);
  if (sql === FAST) return { tokens: resultSet([{ name: 'one', type: 'int' }], [[1]]) };
  if (sql === BROKEN)
    return {
      tokens: [error({ number: 208, severity: 16, message: "Invalid object name 'dbo.missing'." }), done(DONE.ERROR)]
    };
  return undefined;
}

/** The requests from the one carrying `sql` back to the transaction it ran in, and on to its end. */
function around(sql: string): RecordedRequest[] {
  const at = peer.requests.findIndex(r => sqlOf(r) === sql);
  const statement = peer.requests[at];
  if (statement === undefined) throw new Error(`the peer never received ${sql}`);
  const begin = peer.requests.findLastIndex(
    (r, i) => i < at && r.kind === 'begin' && r.connection === statement.connection
  );
  const end = peer.requests.findIndex((r, i) => i > at && (r.kind === 'rollback' || r.kind === 'commit'));
  return peer.requests.slice(begin, end + 1).filter(r => r.connection === statement.connection);
}

afterEach(async () => {
  await db.close();
  await peer.close();
});

describe('the read-only transaction', () => {
  it('runs each read inside a transaction that is rolled back', async () => {
    await start(basic);
    await db.query(FAST);
    const steps = around(FAST);
    expect(steps.map(r => r.kind)).toEqual(['begin', 'rpc', 'rollback']);
    // The statement ran under the transaction the server began.
    expect(steps[1]?.transaction).not.toBe('0000000000000000');
    expect(steps[2]?.transaction).toBe(steps[1]?.transaction);
    expect(peer.requests.some(r => r.kind === 'commit')).toBe(false);
  });

  it('rolls back a read the server failed, and passes on the server’s message', async () => {
    await start(basic);
    await expect(db.query(BROKEN)).rejects.toMatchObject({
      code: 'query_failed',
      message: "Invalid object name 'dbo.missing'."
    });
    expect(around(BROKEN).map(r => r.kind)).toEqual(['begin', 'rpc', 'rollback']);
  });
});

describe('the caller’s identity', () => {
  it('is set with sp_set_session_context, read-only, its values bound as nvarchar parameters', async () => {
    await start(basic, { DepartmentID: 'attributes.department', UserId: 'sub' });
    const subject = "o'brien'; DROP TABLE t; --";
    await db.query(FAST, {
      caller: { identity: { subject, clientId: 'claude', attributes: { department: '7' } } }
    });
    const setting = around(FAST).find(r => sqlOf(r)?.includes('sp_set_session_context') === true);
    if (setting?.kind !== 'rpc') throw new Error('no session context was set');
    expect(setting.procedure).toBe(SP_EXECUTESQL);
    const statement = sqlOf(setting) ?? '';
    expect(statement).toBe(
      [
        "EXEC sys.sp_set_session_context @key = N'DepartmentID', @value = @v1, @read_only = 1;",
        "EXEC sys.sp_set_session_context @key = N'UserId', @value = @v2, @read_only = 1;"
      ].join('\n')
    );
    expect(statement).not.toContain('brien');
    expect(setting.parameters.slice(2)).toEqual([
      { name: '@v1', type: 'nvarchar(4000)', value: '7', output: false },
      { name: '@v2', type: 'nvarchar(4000)', value: subject, output: false }
    ]);
    // Before the caller's statement, inside the same transaction.
    expect(around(FAST).map(r => r.kind)).toEqual(['begin', 'rpc', 'rpc', 'rollback']);
  });
});

describe('between two callers on one pooled connection', () => {
  it('resets the connection (sp_reset_connection through the RESETCONNECTION flag)', async () => {
    await start(basic);
    await db.query(FAST);
    const first = peer.requests.length;
    await db.query(FAST);
    const firstCall = peer.requests.slice(0, first);
    const secondCall = peer.requests.slice(first);
    const connection = firstCall.find(r => sqlOf(r) === FAST)?.connection;
    // The connection is reset as it goes back to the pool, before the next caller's transaction.
    const firstEnd = peer.requests.findIndex(
      (r, i) => i > firstCall.findIndex(f => sqlOf(f) === FAST) && r.kind === 'rollback'
    );
    const reset = peer.requests.findIndex((r, i) => i > firstEnd && r.resetConnection);
    const secondBegin = peer.requests.findIndex((r, i) => i >= first && r.kind === 'begin');
    expect(reset).toBeGreaterThan(firstEnd);
    expect(reset).toBeLessThan(secondBegin);
    expect(peer.requests[reset]?.connection).toBe(connection);
    expect(secondCall.find(r => sqlOf(r) === FAST)?.connection).toBe(connection);
  });
});

describe('the catalog', () => {
  const TABLES = [
    { name: 'schema_name', type: 'nvarchar' },
    { name: 'object_name', type: 'nvarchar' },
    { name: 'object_type', type: 'nvarchar' },
    { name: 'row_estimate', type: 'int' }
  ] as const;

  function catalog(request: RecordedRequest): Reply | undefined {
    const sql = sqlOf(request);
    if (sql === LIST_TABLES) return { tokens: resultSet(TABLES, [['dbo', 'customers', 'table', 3]]) };
    if (sql === OBJECT_ID) return { tokens: resultSet([{ name: 'object_id', type: 'int' }], [[4242]]) };
    return undefined;
  }

  it('lists tables with the introspector’s own query', async () => {
    await start(catalog);
    expect(await db.listTables()).toEqual([{ schema: 'dbo', name: 'customers', type: 'table', rowEstimate: 3 }]);
    expect(peer.statements.filter(r => sqlOf(r) === LIST_TABLES)).toHaveLength(1);
  });

  it('describes a table with parameterised queries: schema and name, then the object id', async () => {
    await start(catalog);
    await db.describeTable('dbo.customers');
    const lookup = peer.requests.find(r => sqlOf(r) === OBJECT_ID);
    if (lookup?.kind !== 'rpc') throw new Error('the object id was not looked up');
    expect(lookup.parameters.slice(2).map(p => [p.name, p.value])).toEqual([
      ['@p1', 'dbo'],
      ['@p2', 'customers']
    ]);
    const columns = peer.requests.find(r => sqlOf(r) === COLUMNS);
    if (columns?.kind !== 'rpc') throw new Error('the columns were not read');
    expect(columns.parameters.slice(2)).toEqual([{ name: '@p1', type: 'int', value: 4242, output: false }]);
    // No catalog statement carries the names in its text.
    for (const request of peer.statements) expect(sqlOf(request) ?? '').not.toContain('customers');
  });
});
