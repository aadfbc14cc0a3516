import { chmodSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { Adapter, AdapterPayload, AuthStore } from './store.ts';
import { epochSeconds } from './store.ts';

/**
 * Authorization state in a SQLite file in the data directory (`auth.sqlite`, readable by its owner
 * only): clients, grants, refresh tokens, sessions and remembered consent survive restarts. Each
 * statement is short; expired rows are removed as new ones are written.
 */

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
  private writes = 0;

  constructor(path: string) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    this.db = new DatabaseSync(path, { timeout: 5000 });
    chmodSync(path, 0o600);
    this.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;');
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
        db.prepare(
          `INSERT INTO oauth_state (environment, model, id, payload, grant_id, user_code, uid, expires_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (environment, model, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id,
             user_code = excluded.user_code, uid = excluded.uid, expires_at = excluded.expires_at`
        ).run(
          environment,
          model,
          id,
          JSON.stringify(payload),
          payload.grantId ?? null,
          payload.userCode ?? null,
          payload.uid ?? null,
          expiresIn === undefined ? null : epochSeconds() + expiresIn
        );
        this.sweep();
      },
      find: async id => row(`${select} id = ?`, environment, model, id),
      findByUserCode: async userCode => row(`${select} user_code = ?`, environment, model, userCode),
      findByUid: async uid => row(`${select} uid = ?`, environment, model, uid),
      consume: async id => {
        db.prepare(
          "UPDATE oauth_state SET payload = json_set(payload, '$.consumed', ?) WHERE environment = ? AND model = ? AND id = ?"
        ).run(epochSeconds(), environment, model, id);
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

  async close(): Promise<void> {
    if (this.db.isOpen) this.db.close();
  }

  private sweep(): void {
    this.writes++;
    if (this.writes % SWEEP_EVERY !== 0) return;
    this.db.prepare('DELETE FROM oauth_state WHERE expires_at IS NOT NULL AND expires_at <= ?').run(epochSeconds());
  }
}
