import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseRuntime } from '../../src/db/runtime.ts';
import { SqlbridgeError } from '../../src/errors/sqlbridge-error.ts';
import { MYSQL, createMysqlDatabases, mysqlAdmin, mysqlDatabaseConfig } from '../dialects/engines/mysql.ts';
import { startCountingProxy, type CountingProxy } from '../helpers/counting-proxy.ts';
import { testRuntime } from '../helpers/test-runtime.ts';

/**
 * A MariaDB server whose SQL mode reads `"…"` as a name (ANSI_QUOTES, or a combination mode such as
 * ANSI that includes it): the statement guard reads `"GET_LOCK"('x', 0)` as a string followed by a
 * parenthesis, so every session sqlbridge opens drops those modes, and the server reads the
 * statement as the guard did. The server's mode comes from a relay that hands the session setup
 * `'ANSI,TRADITIONAL'` where it reads the server's own (same length, so nothing else changes):
 * setting it on the server itself would change every other test's sessions.
 */
describe('MariaDB in ANSI mode (ANSI_QUOTES included)', () => {
  let drop: () => Promise<void>;
  let proxy: CountingProxy;
  let db: DatabaseRuntime;
  const lock = `sqlbridge_mode_${Math.random().toString(36).slice(2, 10)}`;

  beforeAll(async () => {
    const created = await createMysqlDatabases('CREATE TABLE {main}.t (id int PRIMARY KEY);\n');
    drop = created.drop;
    proxy = await startCountingProxy(MYSQL, 'GET_LOCK');
    proxy.rewriteNewConnections('@@SESSION.sql_mode', "'ANSI,TRADITIONAL'");
    // The statement guard on, as in every read-only environment.
    db = testRuntime(mysqlDatabaseConfig(created.main, { host: '127.0.0.1', port: proxy.port, poolMax: 1 }));
  }, 60_000);

  afterAll(async () => {
    await db.close();
    await proxy.close();
    await drop();
  });

  it('runs its sessions without the modes that change how a statement is read', async () => {
    const modes = String((await db.query('SELECT @@sql_mode AS mode')).rows[0]?.[0]).split(',');
    // ANSI dropped, the other mode kept.
    expect(modes).toEqual(expect.arrayContaining(['TRADITIONAL', 'STRICT_ALL_TABLES']));
    expect(modes).not.toContain('ANSI');
    expect(modes).not.toContain('ANSI_QUOTES');
    // "…" is a string again, as the guard reads it.
    expect((await db.query('SELECT "a" AS s')).rows).toEqual([['a']]);
  });

  it('does not take a named lock through a double-quoted function name', async () => {
    const error = await db.query(`SELECT "GET_LOCK"('${lock}', 0) AS taken`).then(
      () => undefined,
      (failure: unknown) => failure
    );
    // A string followed by a parenthesis: the server refuses the statement, as the guard read it.
    expect(error).toBeInstanceOf(SqlbridgeError);
    expect((error as SqlbridgeError).code).toBe('query_failed');
    expect(proxy.count()).toBe(1);
    const holder = await mysqlAdmin(async connection => {
      const [rows] = await connection.query<mysql.RowDataPacket[]>('SELECT IS_USED_LOCK(?) AS holder', [lock]);
      return rows[0]?.['holder'] as unknown;
    });
    expect(holder).toBeNull();
  });
});
