import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseRuntime } from '../../src/db/runtime.ts';
import { createMysqlDatabases, mysqlAdmin, mysqlDatabaseConfig } from '../dialects/engines/mysql.ts';
import { testRuntime } from '../helpers/test-runtime.ts';

/**
 * MySQL's protocol has no cursor for a plain query: the server sends a result whole, and a result
 * cut at the row cap ends its connection. It must end for real. mysql2's destroy() only ends the
 * sending side of the socket, and a server still sending the rest of a large result would have
 * every row of it read and parsed by sqlbridge after the answer (39 MB for the million rows below,
 * against 0.6 MB once the socket is closed outright, measured on this project's MariaDB).
 */

/** A million rows computed by the server, in MySQL 8 and MariaDB alike. */
const MILLION_ROWS = `WITH d AS (${Array.from({ length: 10 }, (_, i) => `SELECT ${i} AS i`).join(' UNION ALL ')})
SELECT a.i AS a, b.i AS b, c.i AS c, e.i AS e, f.i AS f, g.i AS g, 'a label of some length' AS label
FROM d a, d b, d c, d e, d f, d g`;

/** Bytes the server has sent to all its clients since it started. */
async function bytesSent(): Promise<number> {
  return mysqlAdmin(async connection => {
    const [rows] = await connection.query<mysql.RowDataPacket[]>("SHOW GLOBAL STATUS LIKE 'Bytes_sent'");
    return Number(rows[0]?.['Value']);
  });
}

describe('a MySQL result cut at the row cap', () => {
  let drop: () => Promise<void>;
  let db: DatabaseRuntime;

  beforeAll(async () => {
    const created = await createMysqlDatabases('CREATE TABLE {main}.t (id int PRIMARY KEY);\n');
    drop = created.drop;
    db = testRuntime(mysqlDatabaseConfig(created.main, { poolMax: 2 }), {
      limits: { maxRows: 1000, maxResultChars: 1_000_000 }
    });
  }, 60_000);

  afterAll(async () => {
    await db.close();
    await drop();
  });

  it('closes its connection outright: the server stops sending the rest, and the next call works', async () => {
    const before = await bytesSent();
    const result = await db.query(MILLION_ROWS);
    expect(result).toMatchObject({ rowCount: 1000, truncated: 'max_rows' });
    // Time for the server to send the rest, were the connection still reading it.
    await new Promise(resolve => setTimeout(resolve, 2000));
    const sent = (await bytesSent()) - before;
    // The 1000 rows and what the sockets' buffers held when it closed; not the 39 MB of the whole.
    expect(sent).toBeLessThan(8 * 1024 * 1024);
    expect((await db.query('SELECT COUNT(*) FROM t')).rows).toEqual([[0]]);
  });
});
