import sql from 'mssql';
import type { Connection } from 'tedious';

/**
 * mssql's connection pool, with every connection reset before it goes back: tedious's
 * Connection.reset() sends the next batch with the TDS RESETCONNECTION flag, which runs
 * sp_reset_connection on the server (a new logical connection: session context, temporary tables,
 * SET options and locks all gone) and then tedious's own session settings again. mssql itself hands
 * connections back as they are (tediousjs/node-mssql#1483). Without the reset, the caller identity
 * set read-only into SESSION_CONTEXT could not be set for the next caller, and a statement that
 * reads it without setting it would see the previous caller's.
 *
 * A connection that cannot be reset is closed instead: the pool's validation then discards it.
 */

interface Releasing {
  release(this: sql.ConnectionPool, connection: Connection): unknown;
}

// mssql calls release(connection) on its pool when a request or transaction is done with a connection.
const release = (sql.ConnectionPool.prototype as unknown as Partial<Releasing>).release;
if (typeof release !== 'function') {
  throw new Error('this version of mssql has no ConnectionPool.release; sqlbridge cannot reset its connections');
}
const handBack: Releasing['release'] = release;

export class ResettingConnectionPool extends sql.ConnectionPool {
  release(connection: Connection): this {
    if (connection.closed) {
      handBack.call(this, connection);
      return this;
    }
    const done = (error: Error | null | undefined): void => {
      if (error !== null && error !== undefined) {
        connection.close();
        this.emit('error', error);
      }
      handBack.call(this, connection);
    };
    try {
      connection.reset(done);
    } catch (error) {
      done(error instanceof Error ? error : new Error(String(error)));
    }
    return this;
  }
}
