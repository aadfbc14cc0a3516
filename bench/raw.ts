import { DatabaseSync, type StatementSync } from 'node:sqlite';
import pg from 'pg';
import Cursor from 'pg-cursor';
import { checkRows } from './mcp-messages.ts';
import { ROW_CAP, type Call } from './workloads.ts';

/**
 * The same calls through the drivers themselves, the limit any server on top of them can reach:
 * `pg` with a pool of one connection per concurrent client, and `node:sqlite` on a read-only
 * connection. With `readOnlyTransaction`, each call runs inside `BEGIN READ ONLY … ROLLBACK`
 * (SQLite: `BEGIN … ROLLBACK`), the engine-side read-only mode sqlbridge puts around every read.
 * A capped call reads through a cursor and stops at the row cap, as the servers do.
 */

export interface RawTarget {
  engine: 'postgres' | 'sqlite';
  postgres?: { host: string; port: number; user: string; database: string };
  sqlitePath?: string;
  readOnlyTransaction: boolean;
}

export interface RawCaller {
  call(worker: number, call: Call): Promise<void>;
  close(): Promise<void>;
}

async function pgRows(client: pg.PoolClient, call: Call, capped: boolean): Promise<unknown[][]> {
  if (!capped) {
    const result = await client.query({ text: call.sql, rowMode: 'array' });
    return result.rows as unknown[][];
  }
  const cursor = client.query(new Cursor(call.sql, [], { rowMode: 'array' }));
  try {
    return (await cursor.read(ROW_CAP)) as unknown[][];
  } finally {
    await cursor.close();
  }
}

function pgCaller(target: RawTarget, concurrency: number, capped: boolean): RawCaller {
  if (target.postgres === undefined) throw new Error('raw PostgreSQL needs a connection');
  const pool = new pg.Pool({ ...target.postgres, max: concurrency });
  return {
    async call(_worker, call) {
      const client = await pool.connect();
      try {
        if (target.readOnlyTransaction) await client.query('BEGIN READ ONLY');
        let rows: unknown[][];
        try {
          rows = await pgRows(client, call, capped);
        } finally {
          if (target.readOnlyTransaction) await client.query('ROLLBACK');
        }
        checkRows(rows, call.expect);
      } catch (error) {
        if (call.expect.error === true && error instanceof pg.DatabaseError) return;
        throw error;
      } finally {
        client.release();
      }
      if (call.expect.error === true) throw new Error('expected a database error');
    },
    close: () => pool.end()
  };
}

function sqliteCaller(target: RawTarget, capped: boolean): RawCaller {
  if (target.sqlitePath === undefined) throw new Error('raw SQLite needs a file');
  const db = new DatabaseSync(target.sqlitePath, { readOnly: true });
  const statements = new Map<string, StatementSync>();
  const prepared = (sql: string): StatementSync => {
    let statement = statements.get(sql);
    if (statement === undefined) {
      statement = db.prepare(sql);
      statement.setReturnArrays(true);
      statements.set(sql, statement);
    }
    return statement;
  };
  return {
    async call(_worker, call) {
      let rows: unknown[][] = [];
      try {
        if (target.readOnlyTransaction) db.exec('BEGIN');
        try {
          const statement = prepared(call.sql);
          if (capped) {
            for (const row of statement.iterate()) {
              if (rows.length === ROW_CAP) break;
              rows.push(row as unknown as unknown[]);
            }
          } else {
            rows = statement.all() as unknown as unknown[][];
          }
        } finally {
          if (target.readOnlyTransaction) db.exec('ROLLBACK');
        }
      } catch (error) {
        if (call.expect.error === true) return;
        throw error;
      }
      if (call.expect.error === true) throw new Error('expected a database error');
      checkRows(rows, call.expect);
    },
    async close() {
      db.close();
    }
  };
}

export function rawCaller(target: RawTarget, concurrency: number, capped: boolean): RawCaller {
  return target.engine === 'postgres' ? pgCaller(target, concurrency, capped) : sqliteCaller(target, capped);
}
