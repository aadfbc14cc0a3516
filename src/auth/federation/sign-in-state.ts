import { randomBytes } from 'node:crypto';
import type { HashedStore } from '../storage/hashed-store.ts';
import { bindingHash, bindingMatches } from './browser-binding.ts';

/**
 * The two short-lived, single-use records of a federated sign-in, kept server-side:
 *
 * - the **state** of a sign-in sent to a provider (model `SqlbridgeFederationState`, 600 s): its key
 *   is the `state` parameter (32 random bytes), what it holds (PKCE verifier, nonce, where to go
 *   next) is sealed under that value, so a copy of the store reveals nothing usable;
 * - the **ticket** the callback hands to the interaction page (model `SqlbridgeFederationTicket`,
 *   60 s), which finishes the login step of an authorization request in the environment.
 *
 * Both are destroyed when first taken, before anything is checked (a replay finds nothing), and both
 * are bound to the browser (browser-binding.ts). They are deployment-wide (environment ''): the one
 * callback URL serves every environment. Neither model is plain (hashed-store.ts): ids are hashed.
 */

export const STATE_MODEL = 'SqlbridgeFederationState';
export const TICKET_MODEL = 'SqlbridgeFederationTicket';
const DEPLOYMENT = '';
export const STATE_TTL_SECONDS = 600;
export const TICKET_TTL_SECONDS = 60;

export type SignInPurpose = { kind: 'interaction'; environment: string; uid: string } | { kind: 'admin' };

export interface PendingSignIn {
  provider: string;
  purpose: SignInPurpose;
  nonce: string;
  codeVerifier: string;
}

export interface Ticket {
  username: string;
  provider: string;
  environment: string;
  uid: string;
  /** Entra ID's group overage was met at this sign-in (told in the audit record of the login). */
  groupsOverage: boolean;
}

interface SealedRow {
  binding: string;
  /** Sealed under the row's id (not named `sealed`: hashed-store.ts keeps its own field of that name). */
  content: string;
}

/** Why a state or ticket was refused (never said to the browser beyond "start again"). */
export type Refusal = 'unknown' | 'binding';

export type Taken<T> = { ok: true; value: T } | { ok: false; refusal: Refusal };

export class SignInStates {
  private readonly store: HashedStore;

  constructor(store: HashedStore) {
    this.store = store;
  }

  /** Stores a sign-in for this browser; its `state` value. */
  async save(pending: PendingSignIn, binding: string): Promise<string> {
    return this.put(STATE_MODEL, pending, binding, STATE_TTL_SECONDS);
  }

  /** The sign-in of this `state`, once: the record is gone whatever the outcome. */
  async take(state: string, binding: string | undefined): Promise<Taken<PendingSignIn>> {
    return this.takeFrom<PendingSignIn>(STATE_MODEL, state, binding);
  }

  async issueTicket(ticket: Ticket, binding: string): Promise<string> {
    return this.put(TICKET_MODEL, ticket, binding, TICKET_TTL_SECONDS);
  }

  async takeTicket(id: string, binding: string | undefined): Promise<Taken<Ticket>> {
    return this.takeFrom<Ticket>(TICKET_MODEL, id, binding);
  }

  private async put(model: string, value: object, binding: string, ttl: number): Promise<string> {
    const id = randomBytes(32).toString('base64url');
    const row: SealedRow = {
      binding: bindingHash(binding),
      content: this.store.keyedHash.seal(id, model, JSON.stringify(value))
    };
    await this.store.adapter(DEPLOYMENT, model).upsert(id, { ...row }, ttl);
    return id;
  }

  private async takeFrom<T>(model: string, id: string, binding: string | undefined): Promise<Taken<T>> {
    // Anything but our own 43-character values is nobody's: not even looked up.
    if (!/^[A-Za-z0-9_-]{43}$/.test(id)) return { ok: false, refusal: 'unknown' };
    const adapter = this.store.adapter(DEPLOYMENT, model);
    const row = (await adapter.find(id)) as Partial<SealedRow> | undefined;
    if (row === undefined) return { ok: false, refusal: 'unknown' };
    await adapter.destroy(id);
    const opened = typeof row.content === 'string' ? this.store.keyedHash.open(id, model, row.content) : undefined;
    if (opened === undefined) return { ok: false, refusal: 'unknown' };
    if (!bindingMatches(binding, row.binding)) return { ok: false, refusal: 'binding' };
    return { ok: true, value: JSON.parse(opened) as T };
  }
}
