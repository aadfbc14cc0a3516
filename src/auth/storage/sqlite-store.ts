import { chmodSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { Adapter, AdapterPayload, AuthStore, StoredEntry } from './store.ts';
import { ConsumedTwice, epochSeconds } from './store.ts';

/**
 * Authorization state in a SQLite file in the data directory (`auth.sqlite`, readable by its owner
 * only): clients, grants, refresh tokens, sessions and remembered consent survive restarts. Each
 * statement is short; expired rows are removed as new ones are written, and with `secure_delete`
 * what is deleted is overwritten with zeros, not left in free pages. What the rows hold is the
 * caller's business: sqlbridge wraps this store in hashed-store.ts, and `upgradeFormat` records
 * (`PRAGMA user_version`) which format the rows are in.
 */

/** A row as `upgradeFormat` hands it over, and as its conversion gives it back. */
export interface StoredRow {
  environment: string;
  model: string;
  id: string;
  payload: AdapterPayload;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS oauth_state (
  environment TEXT NOT NULL,
  model TEXT NOT NULL,
  id TEXT NOT NULL,
  payload TEXT NOT NULL,
  grant_id TEXT,
  user_code TEXT,
  uid TEXT,
  expires_at INTEGER,
  PRIMARY KEY (environment, model, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS oauth_state_grant ON oauth_state (environment, grant_id) WHERE grant_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS oauth_state_uid ON oauth_state (environment, model, uid) WHERE uid IS NOT NULL;
CREATE INDEX IF NOT EXISTS oauth_state_user_code ON oauth_state (environment, model, user_code) WHERE user_code IS NOT NULL;
CREATE INDEX IF NOT EXISTS oauth_state_expiry ON oauth_state (expires_at) WHERE expires_at IS NOT NULL;
`;

const SWEEP_EVERY = 500;

export class SqliteStore implements AuthStore {
  readonly persistent = true;
  private readonly db: DatabaseSync;
  private readonly path: string;
  private writes = 0;

  constructor(path: string) {
    this.path = path;
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    this.db = new DatabaseSync(path, { timeout: 5000 });
    chmodSync(path, 0o600);
    // temp_store: VACUUM's temporary copy of the database stays in memory, not in a file of /tmp.
    this.db.exec(
      'PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA secure_delete = ON; PRAGMA temp_store = MEMORY;'
    );
    this.db.exec(SCHEMA);
  }

  adapter(environment: string, model: string): Adapter {
    const db = this.db;
    const row = (sql: string, ...params: (string | number)[]): AdapterPayload | undefined => {
      const found = db.prepare(sql).get(...params) as { payload: string; expires_at: number | null } | undefined;
      if (found === undefined) return undefined;
      if (found.expires_at !== null && found.expires_at <= epochSeconds()) return undefined;
      return JSON.parse(found.payload) as AdapterPayload;
    };
    const select = 'SELECT payload, expires_at FROM oauth_state WHERE environment = ? AND model = ? AND';
    return {
      upsert: async (id, payload, expiresIn) => {
        this.write({ environment, model, id, payload }, expiresIn === undefined ? null : epochSeconds() + expiresIn);
        this.sweep();
      },
      find: async id => row(`${select} id = ?`, environment, model, id),
      findByUserCode: async userCode => row(`${select} user_code = ?`, environment, model, userCode),
      findByUid: async uid => row(`${select} uid = ?`, environment, model, uid),
      consume: async id => {
        const { changes } = db
          .prepare(
            "UPDATE oauth_state SET payload = json_set(payload, '$.consumed', ?) WHERE environment = ? AND model = ? AND id = ? AND json_extract(payload, '$.consumed') IS NULL"
          )
          .run(epochSeconds(), environment, model, id);
        if (Number(changes) > 0) return;
        const row = db
          .prepare('SELECT 1 FROM oauth_state WHERE environment = ? AND model = ? AND id = ?')
          .get(environment, model, id);
        throw new ConsumedTwice(row === undefined);
      },
      destroy: async id => {
        db.prepare('DELETE FROM oauth_state WHERE environment = ? AND model = ? AND id = ?').run(
          environment,
          model,
          id
        );
      },
      revokeByGrantId: async grantId => {
        db.prepare('DELETE FROM oauth_state WHERE environment = ? AND grant_id = ?').run(environment, grantId);
      }
    };
  }

  async list(environment: string, model: string): Promise<StoredEntry[]> {
    const rows = this.db
      .prepare(
        'SELECT id, payload FROM oauth_state WHERE environment = ? AND model = ? AND (expires_at IS NULL OR expires_at > ?)'
      )
      .all(environment, model, epochSeconds()) as { id: string; payload: string }[];
    return rows.map(row => ({ id: row.id, payload: JSON.parse(row.payload) as AdapterPayload }));
  }

  /** Steps into the table itself (one page), not just the connection: the file is open and readable. */
  async ping(): Promise<void> {
    this.db.prepare('SELECT 1 FROM oauth_state LIMIT 1').get();
  }

  async close(): Promise<void> {
    if (this.db.isOpen) this.db.close();
  }

  /**
   * Brings a file whose rows are in an older format (its `user_version` below `version`; a new file
   * is at 0) to `version`: each row is handed to `convert`, and written back as it returns it (under
   * its new id) or deleted when it returns nothing. Then the file is rebuilt (VACUUM) and the WAL
   * checkpointed and truncated, so that nothing of the old rows stays readable in the file, its free
   * pages or its WAL. Nothing happens to a file already at `version`; a file of a later version is
   * refused, since this sqlbridge could not read it.
   */
  upgradeFormat(
    version: number,
    convert: (row: StoredRow) => StoredRow | undefined
  ): { kept: number; removed: number } {
    if (!Number.isSafeInteger(version) || version < 1) throw new RangeError('a format version is a positive integer');
    const current = (): number =>
      (this.db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
    const refuseNewer = (found: number): void => {
      if (found > version) {
        throw new Error(
          `${this.path} is in format ${found}, written by a later sqlbridge; this one reads format ${version}`
        );
      }
    };
    refuseNewer(current());
    if (current() === version) return { kept: 0, removed: 0 };
    let kept = 0;
    let removed = 0;
    // The write lock first: of two processes opening an old file together, one upgrades it.
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const found = current();
      refuseNewer(found);
      if (found < version) {
        const rows = this.db.prepare('SELECT environment, model, id, payload, expires_at FROM oauth_state').all() as {
          environment: string;
          model: string;
          id: string;
          payload: string;
          expires_at: number | null;
        }[];
        const remove = this.db.prepare('DELETE FROM oauth_state WHERE environment = ? AND model = ? AND id = ?');
        for (const row of rows) {
          const converted = convert({
            environment: row.environment,
            model: row.model,
            id: row.id,
            payload: JSON.parse(row.payload) as AdapterPayload
          });
          remove.run(row.environment, row.model, row.id);
          if (converted === undefined) removed++;
          else {
            this.write(converted, row.expires_at);
            kept++;
          }
        }
        this.db.exec(`PRAGMA user_version = ${version}`);
      }
      this.db.exec('COMMIT');
    } catch (error) {
      this.db.exec('ROLLBACK');
      throw error;
    }
    this.db.exec('VACUUM');
    this.db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    return { kept, removed };
  }

  private write(row: StoredRow, expiresAt: number | null): void {
    const { environment, model, id, payload } = row;
    this.db
      .prepare(
        `INSERT INTO oauth_state (environment, model, id, payload, grant_id, user_code, uid, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (environment, model, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id,
           user_code = excluded.user_code, uid = excluded.uid, expires_at = excluded.expires_at`
      )
      .run(
        environment,
        model,
        id,
        JSON.stringify(payload),
        payload.grantId ?? null,
        payload.userCode ?? null,
        payload.uid ?? null,
        expiresAt
      );
  }

  private sweep(): void {
    this.writes++;
    if (this.writes % SWEEP_EVERY !== 0) return;
    this.db.prepare('DELETE FROM oauth_state WHERE expires_at IS NOT NULL AND expires_at <= ?').run(epochSeconds());
  }
}
