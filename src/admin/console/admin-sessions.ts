import { randomBytes } from 'node:crypto';
import type { AuthStore } from '../../auth/storage/store.ts';

/**
 * Admin console sign-ins, kept in the OAuth store so that every replica honours a session another
 * one opened, and a sign-out or expiry ends it everywhere. The browser holds only a random id; the
 * store is hashed (hashed-store.ts: this model is not a plain one), so a copy of the store or of a
 * backup holds no usable session. A session names only the user: whether they may still
 * administer is decided again on every request (`signedIn` in console-context.ts).
 */

/** The store model, in the deployment-level environment ''. */
export const ADMIN_SESSION_MODEL = 'SqlbridgeAdminSession';

export interface AdminSession {
  /** The random id the cookie carries. */
  id: string;
  username: string;
  /** How the administrator signed in: `password` or the id of an identity provider. */
  method: string;
  /** Epoch ms. */
  createdAt: number;
}

export class AdminSessions {
  private readonly store: AuthStore;
  private readonly ttlSeconds: number;

  constructor(store: AuthStore, ttlSeconds: number) {
    this.store = store;
    this.ttlSeconds = ttlSeconds;
  }

  get lifetimeSeconds(): number {
    return this.ttlSeconds;
  }

  async open(username: string, method: string): Promise<AdminSession> {
    const session: AdminSession = {
      id: randomBytes(32).toString('base64url'),
      username,
      method,
      createdAt: Date.now()
    };
    await this.adapter().upsert(session.id, { username, method, createdAt: session.createdAt }, this.ttlSeconds);
    return session;
  }

  /** The live session of this id; undefined for an unknown, expired or ended one. */
  async find(id: string | undefined): Promise<AdminSession | undefined> {
    if (id === undefined || !/^[A-Za-z0-9_-]{43}$/.test(id)) return undefined;
    const row = await this.adapter().find(id);
    const username = row?.['username'];
    const method = row?.['method'];
    const createdAt = row?.['createdAt'];
    if (typeof username !== 'string' || typeof createdAt !== 'number') return undefined;
    // The store's expiry is the authority; this also bounds a row written with a longer lifetime.
    if (Date.now() - createdAt > this.ttlSeconds * 1000) return undefined;
    return { id, username, method: typeof method === 'string' ? method : 'password', createdAt };
  }

  async close(id: string): Promise<void> {
    await this.adapter().destroy(id);
  }

  private adapter() {
    return this.store.adapter('', ADMIN_SESSION_MODEL);
  }
}
