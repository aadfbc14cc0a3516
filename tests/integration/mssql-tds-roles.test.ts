import { afterEach, describe, expect, it } from 'vitest';
import { createDialect } from '../../src/db/registry.ts';
import { DatabaseRuntime } from '../../src/db/runtime.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import { TdsPeer, type RecordedRequest, type Reply } from '../helpers/tds/tds-peer.ts';
import { peerDatabase, serverInfoReply, sqlOf } from '../helpers/tds/tds-runtime.ts';
import { DONE, done, error, resultSet } from '../helpers/tds/tokens.ts';

/**
 * The caller's database role on SQL Server, as a TDS peer records it (the database-roles suite runs
 * against a real server where SQLBRIDGE_TEST_MSSQL_URL names one): EXECUTE AS USER with a cookie as
 * an ad hoc batch inside the transaction, the caller's statement, REVERT with that cookie, then the
 * rollback; also when the statement fails. The peer answers only int and nvarchar columns, so the
 * cookie arrives as text here; its bytes are what the revert must carry.
 */

const FAST = 'SELECT 1 AS one';
const BROKEN = 'SELECT * FROM dbo.salaries';
const COOKIE = 'cookie-7';
const COOKIE_HEX = Buffer.from(COOKIE).toString('hex');

let peer: TdsPeer;
let db: DatabaseRuntime;

function respond(request: RecordedRequest): Reply | undefined {
  const sql = sqlOf(request) ?? '';
  if (sql.includes('EXECUTE AS USER')) return { tokens: resultSet([{ name: 'cookie', type: 'nvarchar' }], [[COOKIE]]) };
  if (sql === FAST) return { tokens: resultSet([{ name: 'one', type: 'int' }], [[1]]) };
  if (sql === BROKEN) {
    return {
      tokens: [
        error({ number: 229, severity: 14, message: "The SELECT permission was denied on the object 'salaries'." }),
        done(DONE.ERROR)
      ]
    };
  }
  return serverInfoReply(request) ?? { tokens: [done(0)] };
}

async function start(): Promise<void> {
  peer = await new TdsPeer({ respond }).listen();
  const limits = {
    maxRows: 100,
    maxResultChars: 50_000,
    queryTimeoutMs: 10_000,
    maxStatements: 1,
    binaryPreviewBytes: 48
  };
  db = new DatabaseRuntime({
    environment: 'tds',
    dialect: createDialect(
      { readOnly: true, database: peerDatabase(peer), limits: { ...limits, maxSampleRows: 10 } },
      { environment: 'tds', dataDir: emptyDir(), logger: createLogger('silent') }
    ),
    readOnly: true,
    limits,
    access: { roles: { analysts: 'reporting' }, default: 'none' }
  });
  await db.init();
}

const ANALYST = { caller: { identity: { subject: 'ana', clientId: 'c', groups: ['analysts'] } } };

/** What the connection was sent from the transaction of `sql` to its end: kinds, and batch texts. */
function steps(sql: string): string[] {
  const at = peer.requests.findIndex(r => sqlOf(r) === sql);
  const begin = peer.requests.findLastIndex((r, i) => i < at && r.kind === 'begin');
  const end = peer.requests.findIndex((r, i) => i > at && (r.kind === 'rollback' || r.kind === 'commit'));
  return peer.requests
    .slice(begin, end + 1)
    .map(r => (r.kind === 'batch' ? `batch: ${r.sql}` : r.kind === 'rpc' ? `rpc: ${sqlOf(r) ?? ''}` : r.kind));
}

afterEach(async () => {
  await db.close();
  await peer.close();
});

describe('a caller’s role on SQL Server', () => {
  const executeAs = [
    'batch: DECLARE @sqlbridge_cookie varbinary(8000);',
    "EXECUTE AS USER = N'reporting' WITH COOKIE INTO @sqlbridge_cookie;",
    'SELECT @sqlbridge_cookie AS cookie;'
  ].join('\n');
  const revert = [
    `batch: DECLARE @sqlbridge_cookie varbinary(8000) = 0x${COOKIE_HEX};`,
    'REVERT WITH COOKIE = @sqlbridge_cookie;'
  ].join('\n');

  it('impersonates the role’s user for the statement and reverts before the rollback', async () => {
    await start();
    expect((await db.query(FAST, ANALYST)).rows).toEqual([[1]]);
    expect(steps(FAST)).toEqual(['begin', executeAs, `rpc: ${FAST}`, revert, 'rollback']);
  });

  it('reverts when the statement fails too', async () => {
    await start();
    await expect(db.query(BROKEN, ANALYST)).rejects.toMatchObject({ code: 'query_failed' });
    expect(steps(BROKEN)).toEqual(['begin', executeAs, `rpc: ${BROKEN}`, revert, 'rollback']);
  });

  it('sends nothing for a caller without a role', async () => {
    await start();
    const before = peer.requests.length;
    await expect(db.query(FAST, { caller: { identity: { subject: 'cy', clientId: 'c' } } })).rejects.toMatchObject({
      code: 'access_denied'
    });
    expect(peer.requests.length).toBe(before);
  });
});
