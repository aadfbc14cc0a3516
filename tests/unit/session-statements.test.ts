import { describe, expect, it } from 'vitest';
import { sessionContextSql } from '../../src/db/dialects/mssql/mssql-session.ts';
import { mysqlSessionStatement } from '../../src/db/dialects/mysql/mysql-session.ts';
import { postgresSessionQuery } from '../../src/db/dialects/postgres/postgres-session.ts';
import { SqlbridgeError } from '../../src/errors/sqlbridge-error.ts';

/**
 * What each driver sends to set the caller's identity into the session, without a database: the
 * values always bound, the keys spelled only when they are plain names. The dialect suite and the
 * row-level security e2e test run the same statements against the real engines (SQL Server where
 * SQLBRIDGE_TEST_MSSQL_URL names one); this pins the text, including SQL Server's.
 */

const SESSION = { subject: 'user-123', client_id: null, DepartmentID: '7' };
const HOSTILE_KEYS = ["x', 'y", 'a b', 'a;DROP TABLE t', '1abc', 'sqlbridge.x', '', 'é'];

function refused(build: () => unknown): SqlbridgeError {
  try {
    build();
  } catch (error) {
    expect(error).toBeInstanceOf(SqlbridgeError);
    return error as SqlbridgeError;
  }
  throw new Error('expected the key to be refused');
}

describe('PostgreSQL: set_config in the transaction', () => {
  it('sets every key in one statement, the values bound, an unknown value as empty text', () => {
    expect(postgresSessionQuery(SESSION)).toEqual({
      text: "SELECT set_config('sqlbridge.subject', $1, true), set_config('sqlbridge.client_id', $2, true), set_config('sqlbridge.DepartmentID', $3, true)",
      values: ['user-123', '', '7']
    });
  });

  it('sends nothing when there is nothing to set', () => {
    expect(postgresSessionQuery(undefined)).toBeUndefined();
    expect(postgresSessionQuery({})).toBeUndefined();
  });

  it('keeps a value that looks like SQL out of the text', () => {
    const query = postgresSessionQuery({ subject: "x', 'y', true); DROP TABLE t; --" });
    expect(query?.text).toBe("SELECT set_config('sqlbridge.subject', $1, true)");
    expect(query?.values).toEqual(["x', 'y', true); DROP TABLE t; --"]);
  });

  it.each(HOSTILE_KEYS)('refuses the key %j', key => {
    const error = refused(() => postgresSessionQuery({ [key]: 'v' }));
    expect(error.code).toBe('config_invalid');
    expect(error.detail).toContain(JSON.stringify(key));
  });
});

describe('MySQL and MariaDB: user variables on the connection', () => {
  it('sets every key, NULL where the caller has none, and remembers the keys that hold a value', () => {
    const statement = mysqlSessionStatement(SESSION, new Set());
    expect(statement?.sql).toBe('SET @sqlbridge_subject = ?, @sqlbridge_client_id = ?, @sqlbridge_DepartmentID = ?');
    expect(statement?.values).toEqual(['user-123', null, '7']);
    expect([...(statement?.keys ?? [])]).toEqual(['subject', 'DepartmentID']);
  });

  it('clears the keys an earlier caller on the connection left, also when this query sets none', () => {
    const held = new Set(['subject', 'tenant']);
    expect(mysqlSessionStatement({ subject: 'user-456' }, held)).toEqual({
      sql: 'SET @sqlbridge_subject = ?, @sqlbridge_tenant = ?',
      values: ['user-456', null],
      keys: new Set(['subject'])
    });
    expect(mysqlSessionStatement(undefined, held)).toEqual({
      sql: 'SET @sqlbridge_subject = ?, @sqlbridge_tenant = ?',
      values: [null, null],
      keys: new Set()
    });
  });

  it('sends nothing when the connection holds nothing and nothing is to be set', () => {
    expect(mysqlSessionStatement(undefined, new Set())).toBeUndefined();
    expect(mysqlSessionStatement({}, new Set())).toBeUndefined();
  });

  it.each(HOSTILE_KEYS)('refuses the key %j', key => {
    expect(refused(() => mysqlSessionStatement({ [key]: 'v' }, new Set())).code).toBe('config_invalid');
  });

  it('refuses a key too long for a user variable name (64 characters with the sqlbridge_ prefix)', () => {
    expect(mysqlSessionStatement({ ['k'.repeat(54)]: 'v' }, new Set())?.sql).toContain(`@sqlbridge_${'k'.repeat(54)} `);
    expect(refused(() => mysqlSessionStatement({ ['k'.repeat(55)]: 'v' }, new Set())).code).toBe('config_invalid');
  });
});

describe('SQL Server: sp_set_session_context, read-only', () => {
  it('sets each key as configured, read-only, its value a bound parameter', () => {
    expect(sessionContextSql(SESSION)).toEqual({
      sql: [
        "EXEC sys.sp_set_session_context @key = N'subject', @value = @v1, @read_only = 1;",
        "EXEC sys.sp_set_session_context @key = N'client_id', @value = @v2, @read_only = 1;",
        "EXEC sys.sp_set_session_context @key = N'DepartmentID', @value = @v3, @read_only = 1;"
      ].join('\n'),
      values: ['user-123', null, '7']
    });
  });

  it('sends nothing when there is nothing to set', () => {
    expect(sessionContextSql(undefined)).toBeUndefined();
    expect(sessionContextSql({})).toBeUndefined();
  });

  it('keeps a value that looks like SQL out of the text', () => {
    const sql = sessionContextSql({ subject: "'; EXEC xp_cmdshell 'whoami'; --" });
    expect(sql?.sql).not.toContain('xp_cmdshell');
    expect(sql?.values).toEqual(["'; EXEC xp_cmdshell 'whoami'; --"]);
  });

  it.each(HOSTILE_KEYS)('refuses the key %j', key => {
    expect(refused(() => sessionContextSql({ [key]: 'v' })).code).toBe('config_invalid');
  });

  it('refuses a value longer than a session context value holds, naming the key', () => {
    expect(sessionContextSql({ note: 'x'.repeat(4000) })?.values).toEqual(['x'.repeat(4000)]);
    const error = refused(() => sessionContextSql({ note: 'x'.repeat(4001) }));
    expect(error.code).toBe('query_failed');
    expect(error.message).toContain('note');
  });
});
