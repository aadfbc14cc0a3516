import type { KeyedHash } from './keyed-hash.ts';
import type { Adapter, AdapterPayload, AuthStore, StoredEntry } from './store.ts';

/**
 * Authorization state with no bearer secret in it. oidc-provider keys its rows by ids that, for
 * refresh tokens, authorization codes, sessions and interactions, are the secret itself (the token
 * a client presents, the cookie a browser sends), and repeats them in the payload (`jti`, the
 * interaction's `returnTo`, the session cookie an interaction remembers). Kept like that, a copy of
 * the data directory or of a backup would hand out live refresh tokens. This wrapper, around any
 * store, keeps:
 *
 * - every id only as its keyed hash (HMAC-SHA-256, keyed-hash.ts): a value presented is hashed and
 *   looked up, and the hash cannot be turned back into the value, even with the key;
 * - every string of the payload that contains the id (`jti`, `returnTo`, …), and the fields known to
 *   hold another row's secret (SEALED_FIELDS), sealed under a key derived from the id: they come back
 *   only to whoever presents the id, which is the only time oidc-provider asks for them;
 * - a device flow's user code (the index `findByUserCode` searches) as its keyed hash, with the
 *   sealed fields sealed a second time under the user code so that a lookup by it gets them back.
 *   (User codes are short: whoever also holds the key could guess one offline. The device flow is
 *   not enabled here; this keeps the store correct should it ever be.)
 *
 * Grant ids stay as they are in payloads (`grantId`) and in `revokeByGrantId`: a grant id is no
 * credential. No endpoint accepts one; it travels in clear in every access token (`gid`), the log and
 * the audit trail name it when a grant is revoked. Knowing it lets nobody do anything, so the store
 * can keep finding a grant's tokens by it. (The Grant row's own key is hashed like every other id:
 * the rule is the same for every model, so a model added by an oidc-provider upgrade is covered.)
 * Session `uid`s stay too: the `findByUid` index, never sent to a browser or client (the session
 * cookie carries the session id, which is hashed). A session found by uid therefore comes back
 * without its id (`jti`); oidc-provider only reads such a session (its account and grants), never
 * saves it.
 */

/** Payload fields, per model, that hold a bearer secret other than the row's own id. */
const SEALED_FIELDS: Readonly<Record<string, readonly (readonly string[])[]>> = {
  // The session cookie of the person signing in (interactionDetails() exposes it; sqlbridge does not
  // read it), and the codes of flows this server does not enable, in case one ever is.
  Interaction: [['session', 'cookie'], ['deviceCode'], ['parJti']]
};

/**
 * sqlbridge's own records whose ids are no secret (a client id, a grant id, a user name) and whose
 * payloads hold no bearer secret in clear (what needs protecting is sealed by their writers): kept
 * as they are, so that administration can list them. An oidc-provider model is never one of them.
 */
export const PLAIN_MODELS: ReadonlySet<string> = new Set([
  'SqlbridgeClientRecord',
  'SqlbridgeGrantRecord',
  'SqlbridgeUser'
]);

/** Where the sealed fields are kept in a stored payload. */
const SEALED = 'sealed';
const SEALED_BY_USER_CODE = 'sealedByUserCode';

type Path = readonly (string | number)[];
type Hidden = [Path, unknown];
type Container = Record<string, unknown> | unknown[];

export class HashedStore implements AuthStore {
  readonly persistent: boolean;
  /** The deployment's keyed hash, for the other secrets kept at rest (client secrets). */
  readonly keyedHash: KeyedHash;
  private readonly inner: AuthStore;

  constructor(inner: AuthStore, keyedHash: KeyedHash) {
    this.inner = inner;
    this.keyedHash = keyedHash;
    this.persistent = inner.persistent;
  }

  /** The row key an id is stored under. */
  key(id: string): string {
    return this.keyedHash.digest('id', id);
  }

  /** What is stored for `payload` saved under `id`: its row key, and the payload without a secret in clear. */
  protect(
    environment: string,
    model: string,
    id: string,
    payload: AdapterPayload
  ): { id: string; payload: AdapterPayload } {
    const visible = JSON.parse(JSON.stringify(payload)) as Record<string, unknown>;
    const hidden: Hidden[] = [];
    if (id !== '') takeStringsHolding(visible, id, [], hidden);
    for (const path of SEALED_FIELDS[model] ?? []) {
      const value = valueAt(visible, path);
      if (value !== undefined) {
        hidden.push([path, value]);
        removeAt(visible, path);
      }
    }
    const userCode = visible['userCode'];
    if (typeof userCode === 'string') {
      hidden.push([['userCode'], userCode]);
      visible['userCode'] = this.keyedHash.digest('user-code', userCode);
    }
    if (hidden.length > 0) {
      const sealed = JSON.stringify(hidden);
      visible[SEALED] = this.keyedHash.seal(id, context('id', environment, model), sealed);
      if (typeof userCode === 'string') {
        visible[SEALED_BY_USER_CODE] = this.keyedHash.seal(userCode, context('user-code', environment, model), sealed);
      }
    }
    return { id: this.key(id), payload: visible };
  }

  adapter(environment: string, model: string): Adapter {
    const inner = this.inner.adapter(environment, model);
    if (PLAIN_MODELS.has(model)) return inner;
    const restore = (
      // What the inner adapter found: a payload, or nothing (oidc-provider's types allow `void`).
      stored: unknown,
      secret: { kind: 'id' | 'user-code'; value: string } | undefined
    ): AdapterPayload | undefined => {
      if (typeof stored !== 'object' || stored === null) return undefined;
      const { [SEALED]: byId, [SEALED_BY_USER_CODE]: byUserCode, ...payload } = stored as AdapterPayload;
      const sealed = secret?.kind === 'user-code' ? byUserCode : byId;
      if (secret === undefined || typeof sealed !== 'string') return payload;
      const opened = this.keyedHash.open(secret.value, context(secret.kind, environment, model), sealed);
      // A row whose sealed fields do not open under the value presented is not that value's row.
      if (opened === undefined) return undefined;
      for (const [path, value] of JSON.parse(opened) as Hidden[]) setAt(payload, path, value);
      return payload;
    };
    return {
      upsert: async (id, payload, expiresIn) => {
        const stored = this.protect(environment, model, id, payload);
        await inner.upsert(stored.id, stored.payload, expiresIn);
      },
      find: async id => restore(await inner.find(this.key(id)), { kind: 'id', value: id }),
      findByUserCode: async userCode =>
        restore(await inner.findByUserCode(this.keyedHash.digest('user-code', userCode)), {
          kind: 'user-code',
          value: userCode
        }),
      findByUid: async uid => restore(await inner.findByUid(uid), undefined),
      consume: async id => inner.consume(this.key(id)),
      destroy: async id => inner.destroy(this.key(id)),
      revokeByGrantId: async grantId => inner.revokeByGrantId(grantId)
    };
  }

  /** The rows of a model; outside the plain models, ids are hashes and sealed fields stay sealed. */
  async list(environment: string, model: string): Promise<StoredEntry[]> {
    const rows = await this.inner.list(environment, model);
    if (PLAIN_MODELS.has(model)) return rows;
    return rows.map(({ id, payload }) => {
      const { [SEALED]: _sealed, [SEALED_BY_USER_CODE]: _byUserCode, ...visible } = payload;
      return { id, payload: visible };
    });
  }

  async ping(): Promise<void> {
    await this.inner.ping();
  }

  async close(): Promise<void> {
    await this.inner.close();
  }
}

/** Authenticated with a sealed value: which secret it was sealed under, for which environment and model. */
function context(kind: string, environment: string, model: string): string {
  return `${kind}\u0000${environment}\u0000${model}`;
}

function isContainer(value: unknown): value is Container {
  return typeof value === 'object' && value !== null;
}

/** Moves every string of `container` (at any depth) that contains `needle` into `hidden`. */
function takeStringsHolding(container: Container, needle: string, path: Path, hidden: Hidden[]): void {
  for (const [key, value] of Object.entries(container)) {
    const at = Array.isArray(container) ? Number(key) : key;
    if (typeof value === 'string') {
      if (value.includes(needle)) {
        hidden.push([[...path, at], value]);
        removeAt(container, [at]);
      }
    } else if (isContainer(value)) {
      takeStringsHolding(value, needle, [...path, at], hidden);
    }
  }
}

function valueAt(root: Container, path: Path): unknown {
  let current: unknown = root;
  for (const step of path) {
    if (!isContainer(current) || !Object.hasOwn(current, step)) return undefined;
    current = (current as Record<string | number, unknown>)[step];
  }
  return current;
}

/** Removes a leaf: deleted from an object; in an array, null keeps the positions of the others. */
function removeAt(root: Container, path: Path): void {
  const parent = valueAt(root, path.slice(0, -1));
  const last = path.at(-1);
  if (!isContainer(parent) || last === undefined) return;
  if (Array.isArray(parent)) parent[Number(last)] = null;
  else Reflect.deleteProperty(parent, String(last));
}

/** Puts a leaf back (as an own property, whatever its name: `__proto__` included). */
function setAt(root: Container, path: Path, value: unknown): void {
  let current: Container = root;
  for (const [index, step] of path.entries()) {
    if (index === path.length - 1) {
      Object.defineProperty(current, step, { value, enumerable: true, writable: true, configurable: true });
      return;
    }
    const next = (current as Record<string | number, unknown>)[step];
    if (isContainer(next) && Object.hasOwn(current, step)) {
      current = next;
    } else {
      const created: Container = typeof path[index + 1] === 'number' ? [] : {};
      Object.defineProperty(current, step, { value: created, enumerable: true, writable: true, configurable: true });
      current = created;
    }
  }
}
