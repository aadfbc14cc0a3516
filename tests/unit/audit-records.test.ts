import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { queryEntry } from '../../src/audit/query-records.ts';
import type { QueryEvent } from '../../src/db/runtime.ts';
import { SqlbridgeError } from '../../src/errors/sqlbridge-error.ts';
import { toolErrorResult } from '../../src/mcp/tool-error.ts';
import { createLogger } from '../../src/observability/logger.ts';

const SQL = 'SELECT total FROM orders WHERE id = 7';
const HASH = createHash('sha256').update(SQL).digest('hex');

const event = (over: Partial<QueryEvent> = {}): QueryEvent => ({
  environment: 'production',
  engine: 'postgres',
  kind: 'query',
  sql: SQL,
  status: 'ok',
  elapsedMs: 12,
  rowCount: 3,
  rowsRead: 3,
  truncated: false,
  caller: {
    identity: { subject: 'ana', clientId: 'client-1' },
    requestId: 'req-1',
    remoteAddress: '203.0.113.9',
    tool: 'execute_sql'
  },
  ...over
});

describe('query audit records', () => {
  it('never hold a password written in a statement, in the text or in what the hash is computed from', () => {
    const cases = [
      ["CREATE USER probe_x WITH PASSWORD 'TopSecretPw_123'", "CREATE USER probe_x WITH PASSWORD '…'"],
      ["ALTER ROLE a ENCRYPTED PASSWORD 'it''s'", "ALTER ROLE a ENCRYPTED PASSWORD '…'"],
      [
        "CREATE LOGIN x WITH PASSWORD = N'P@ss', CHECK_POLICY = OFF",
        "CREATE LOGIN x WITH PASSWORD = '…', CHECK_POLICY = OFF"
      ],
      ["SET PASSWORD FOR u = PASSWORD('x1')", "SET PASSWORD FOR u = PASSWORD('…')"],
      [
        'CREATE USER u IDENTIFIED WITH mysql_native_password BY "p2"',
        "CREATE USER u IDENTIFIED WITH mysql_native_password BY '…'"
      ],
      ['ALTER USER u PASSWORD $q$p3$q$', "ALTER USER u PASSWORD '…'"],
      [
        "CREATE DATABASE SCOPED CREDENTIAL c WITH IDENTITY = 'id', SECRET = 'sk'",
        "CREATE DATABASE SCOPED CREDENTIAL c WITH IDENTITY = 'id', SECRET = '…'"
      ]
    ];
    for (const [sql, kept] of cases) {
      const entry = queryEntry(event({ sql: sql ?? '', status: 'rejected' }), {
        statements: 'full',
        onFailure: 'continue'
      });
      expect(entry?.statement).toBe(kept);
      expect(entry?.statementHash).toBe(
        createHash('sha256')
          .update(kept ?? '')
          .digest('hex')
      );
    }
    // SQL without a password is kept as sent.
    expect(queryEntry(event(), { statements: 'full', onFailure: 'continue' })?.statement).toBe(SQL);
  });

  it('carry who, where, the statement and its hash, the rows and the duration', () => {
    expect(queryEntry(event(), { statements: 'full', onFailure: 'continue' })).toEqual({
      event: 'query.executed',
      outcome: 'ok',
      environment: 'production',
      user: 'ana',
      clientId: 'client-1',
      requestId: 'req-1',
      remoteAddress: '203.0.113.9',
      tool: 'execute_sql',
      statement: SQL,
      statementHash: HASH,
      durationMs: 12,
      rows: 3,
      truncated: false,
      detail: { kind: 'query' }
    });
  });

  it('keep only the hash, or nothing, of the statement when the environment says so', () => {
    const hashed = queryEntry(event(), { statements: 'hash', onFailure: 'continue' });
    expect(hashed?.statementHash).toBe(HASH);
    expect(hashed).not.toHaveProperty('statement');
    const omitted = queryEntry(event(), { statements: 'omit', onFailure: 'continue' });
    expect(omitted).not.toHaveProperty('statement');
    expect(omitted).not.toHaveProperty('statementHash');
  });

  it('name the outcome and error class of refused, failed, timed-out and cancelled statements', () => {
    const audit = { statements: 'full', onFailure: 'continue' } as const;
    const of = (status: QueryEvent['status'], errorCode: string) =>
      queryEntry(event({ status, errorCode, rowCount: 0 }), audit);
    expect(of('rejected', 'statement_rejected')).toMatchObject({
      event: 'query.rejected',
      outcome: 'rejected',
      errorClass: 'statement_rejected'
    });
    expect(of('error', 'query_failed')).toMatchObject({ event: 'query.failed', outcome: 'failed' });
    expect(of('timeout', 'query_timeout')).toMatchObject({
      event: 'query.failed',
      outcome: 'failed',
      errorClass: 'query_timeout'
    });
    expect(of('cancelled', 'query_cancelled')).toMatchObject({ event: 'query.cancelled', outcome: 'cancelled' });
    expect(of('error', 'query_failed')).not.toHaveProperty('rows');
  });

  it('leave out the server’s own catalog reads', () => {
    expect(queryEntry(event({ kind: 'catalog' }), { statements: 'full', onFailure: 'continue' })).toBeUndefined();
  });
});

describe('failed tool calls in the log', () => {
  function capture(): { logger: ReturnType<typeof createLogger>; lines: Record<string, unknown>[] } {
    const lines: Record<string, unknown>[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
        done();
      }
    });
    return { logger: createLogger('info', stream), lines };
  }

  it('log a query the database failed as one warn line with its class and the database code, without a stack', () => {
    const { logger, lines } = capture();
    const cause = Object.assign(new Error('column "x" does not exist'), { code: '42703' });
    const error = new SqlbridgeError('query_failed', 'column "x" does not exist', { expose: true, cause });
    const result = toolErrorResult(error, logger, { tool: 'execute_sql' });
    expect(result.isError).toBe(true);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'warn', errorClass: 'query_failed', dbCode: '42703' });
    expect(JSON.stringify(lines[0])).not.toContain('at ');
    expect(lines[0]).not.toHaveProperty('err');
  });

  it('log a caller’s mistake at info, and keep the stack only for errors that are not meant for the caller', () => {
    const { logger, lines } = capture();
    toolErrorResult(new SqlbridgeError('statement_rejected', 'writes are refused', { expose: true }), logger, {});
    toolErrorResult(new TypeError('cannot read properties of undefined'), logger, {});
    expect(lines.map(line => line['level'])).toEqual(['info', 'error']);
    expect(lines[1]).toMatchObject({ errorClass: 'internal' });
    expect(String((lines[1]?.['err'] as { stack?: string }).stack)).toContain('TypeError');
  });

  it('do not show an unmarked error’s message to the caller: errors are hidden unless marked', () => {
    const { logger } = capture();
    const error = new SqlbridgeError('connection_failed', 'password authentication failed for user "svc"');
    expect(error.expose).toBe(false);
    const text = JSON.stringify(toolErrorResult(error, logger, {}).content);
    expect(text).not.toContain('password authentication failed');
    expect(text).toContain('reference');
  });
});
