import type { Adapter, AdapterPayload, AuthStore, StoredEntry } from './store.ts';
import { ConsumedTwice, epochSeconds } from './store.ts';

/** Authorization state in memory, lost on restart: for tests only (sqlbridge warns when it is configured). */

interface Entry {
  payload: AdapterPayload;
  expiresAt: number | undefined;
}

export class MemoryStore implements AuthStore {
  readonly persistent = false;
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  adapter(environment: string, model: string): Adapter {
    const key = (id: string): string => JSON.stringify([environment, model, id]);
    const live = (entry: Entry | undefined): AdapterPayload | undefined =>
      entry === undefined || (entry.expiresAt !== undefined && entry.expiresAt <= epochSeconds(this.now()))
        ? undefined
        : structuredClone(entry.payload);
    const findBy = (field: 'userCode' | 'uid', value: string): AdapterPayload | undefined => {
      for (const [k, entry] of this.entries) {
        const [env, name] = JSON.parse(k) as [string, string, string];
        if (env === environment && name === model && entry.payload[field] === value) return live(entry);
      }
      return undefined;
    };
    return {
      upsert: async (id, payload, expiresIn) => {
        this.entries.set(key(id), {
          payload: structuredClone(payload),
          expiresAt: expiresIn === undefined ? undefined : epochSeconds(this.now()) + expiresIn
        });
      },
      find: async id => live(this.entries.get(key(id))),
      findByUserCode: async userCode => findBy('userCode', userCode),
      findByUid: async uid => findBy('uid', uid),
      consume: async id => {
        const entry = this.entries.get(key(id));
        if (live(entry) === undefined) throw new ConsumedTwice(true);
        if (entry === undefined || entry.payload.consumed !== undefined) throw new ConsumedTwice(false);
        entry.payload.consumed = epochSeconds(this.now());
      },
      destroy: async id => {
        this.entries.delete(key(id));
      },
      revokeByGrantId: async grantId => {
        for (const [k, entry] of this.entries) {
          if ((JSON.parse(k) as string[])[0] === environment && entry.payload.grantId === grantId)
            this.entries.delete(k);
        }
      }
    };
  }

  async list(environment: string, model: string): Promise<StoredEntry[]> {
    const now = epochSeconds(this.now());
    const rows: StoredEntry[] = [];
    for (const [k, entry] of this.entries) {
      const [env, name, id] = JSON.parse(k) as [string, string, string];
      if (env !== environment || name !== model) continue;
      if (entry.expiresAt !== undefined && entry.expiresAt <= now) continue;
      rows.push({ id, payload: structuredClone(entry.payload) });
    }
    return rows;
  }

  /** Memory always answers. */
  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.entries.clear();
  }
}
