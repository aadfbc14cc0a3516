import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseRuntime } from '../../src/db/runtime.ts';
import { SqlbridgeError } from '../../src/errors/sqlbridge-error.ts';
import { MYSQL, createMysqlDatabases, mysqlDatabaseConfig } from '../dialects/engines/mysql.ts';
import { startCountingProxy, type CountingProxy } from '../helpers/counting-proxy.ts';
import { testRuntime } from '../helpers/test-runtime.ts';

/**
 * Every new MySQL connection is set up (UTC, the SQL mode, the server's statement time limit)
 * before it is lent. A server that refuses that setup on a new connection fails the call that would
 * have used it, saying so, and nothing else: not the process, not the calls on connections already
 * set up. Here MariaDB itself refuses: a relay misspells the time limit's variable on connections
 * opened once the pool holds one, and the server answers that it knows no such variable.
 */

describe('a MySQL server that refuses the session setup of a new connection', () => {
  let drop: () => Promise<void>;
  let proxy: CountingProxy;
  let db: DatabaseRuntime;

  beforeAll(async () => {
    const created = await createMysqlDatabases('CREATE TABLE {main}.t (id int PRIMARY KEY);\n');
    drop = created.drop;
    proxy = await startCountingProxy(MYSQL, 'KILL');
    // The subject is the driver: SLEEP() reaches the engine.
    db = testRuntime(mysqlDatabaseConfig(created.main, { host: '127.0.0.1', port: proxy.port, poolMax: 2 }), {
      statementGuard: false
    });
  }, 60_000);

  afterAll(async () => {
    await db.close();
    await proxy.close();
    await drop();
  });

  it('fails the call that would use it, saying so; the calls on a connection set up go on', async () => {
    expect((await db.query('SELECT 1 AS one')).rows).toEqual([[1]]);
    proxy.rewriteNewConnections('max_statement_time', 'max_statement_tim_');
    // The one connection set up is busy: the next call needs a new one.
    const busy = db.query('SELECT SLEEP(0.5) AS slept');
    const refused = await db.query('SELECT 2 AS two').then(
      () => undefined,
      (error: unknown) => error
    );
    expect(refused).toBeInstanceOf(SqlbridgeError);
    expect((refused as SqlbridgeError).code).toBe('connection_failed');
    expect((refused as SqlbridgeError).message).toBe(
      'the database refused the session settings sqlbridge needs (time zone, SQL mode, statement time limit)'
    );
    // Nothing of the server's address or the driver's text reaches the caller.
    expect((refused as SqlbridgeError).message).not.toMatch(/127\.0\.0\.1|max_statement|Unknown system variable/);
    expect((await busy).rows).toEqual([[0]]);
    expect((await db.query('SELECT 3 AS three')).rows).toEqual([[3]]);
  });
});
