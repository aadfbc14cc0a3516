/**
 * Removes secrets from a log object by field name before pino writes it: connection strings,
 * passwords (and their hashes), client secrets, bearer and refresh tokens, PKCE verifiers, cookies,
 * at the top of the object and up to two levels down (arrays count as a level); an authorization
 * code where request parameters are (`query`, `body`, `params`); a response's `set-cookie`.
 *
 * Done here once per line, copying only what changes (the caller's objects are never modified),
 * instead of with pino's `redact` paths: those run a wildcard path parser for every key of every
 * line, which made the request log the largest allocator of a busy server. A child logger's
 * bindings are not logged objects (pino formats them once, without this): sqlbridge binds only
 * names it chooses (an environment, a request id); whatever secret the configuration holds is
 * still removed by value from every line (logger.ts).
 */

export const CENSOR = '[redacted]';

/** Field names removed at depth 0 to 2. A bare `code` is not among them: elsewhere it is an error code. */
const SECRET_FIELDS: ReadonlySet<string> = new Set([
  'password',
  'passwordHash',
  'connectionString',
  'clientSecret',
  'client_secret',
  'token',
  'accessToken',
  'access_token',
  'refresh_token',
  'code_verifier',
  'authorization',
  'cookie'
]);

/** Where request parameters are: their `code` is an authorization code. */
const PARAMETER_FIELDS: ReadonlySet<string> = new Set(['query', 'body', 'params']);

const MAX_DEPTH = 2;

type Container = Record<string, unknown> | unknown[];

function isContainer(value: unknown): value is Container {
  return typeof value === 'object' && value !== null;
}

/** A shallow copy that keeps what the original is (an Error stays an Error, with its message and stack). */
function shallowCopy<T extends Container>(value: T): T {
  if (Array.isArray(value)) return [...value] as T;
  if (Object.getPrototypeOf(value) === Object.prototype) return Object.assign({}, value);
  const copy = Object.create(Object.getPrototypeOf(value) as object, Object.getOwnPropertyDescriptors(value)) as T;
  // An error's stack is read through the original's internal slot: carried over as a plain value.
  if (value instanceof Error)
    Object.defineProperty(copy, 'stack', { value: value.stack, enumerable: false, writable: true });
  return copy;
}

/** `container[key]` cleaned, or the same value when nothing in it had to go. */
function cleanValue(key: string, value: unknown, depth: number, parentKey: string | undefined): unknown {
  if (depth <= MAX_DEPTH && SECRET_FIELDS.has(key)) return CENSOR;
  if (key === 'code' && parentKey !== undefined && PARAMETER_FIELDS.has(parentKey) && depth <= 2) return CENSOR;
  if (key === 'set-cookie' && parentKey === 'headers') return CENSOR;
  if (!isContainer(value) || depth >= MAX_DEPTH + 1) return value;
  return clean(value, depth + 1, key);
}

function clean<T extends Container>(value: T, depth: number, ownKey: string | undefined): T {
  let copy: T | undefined;
  const keys = Array.isArray(value) ? value.keys() : Object.keys(value);
  for (const index of keys) {
    const key = String(index);
    const before = (value as Record<string, unknown>)[key];
    // Array items are a level of their own, named by their parent (`*` in a path).
    const after = Array.isArray(value)
      ? isContainer(before) && depth <= MAX_DEPTH
        ? clean(before, depth + 1, ownKey)
        : before
      : cleanValue(key, before, depth, ownKey);
    if (after !== before) {
      copy ??= shallowCopy(value);
      (copy as Record<string, unknown>)[key] = after;
    }
  }
  return copy ?? value;
}

/** The log object without its secrets; the same object when it held none. */
export function redactFields<T extends Record<string, unknown>>(object: T): T {
  return clean(object, 0, undefined);
}
