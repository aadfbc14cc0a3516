/** Whether a value is an object with named members, as JSON and YAML objects are: not null, not an array. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A member of `object` itself, never one it inherits: for keys that come from input, where `__proto__`
 * or `constructor` would otherwise reach Object.prototype or a constructor.
 */
export function ownMember(object: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

/** Sets a member of `object` itself: a key `__proto__` from input is a member, never the object's prototype. */
export function setOwnMember(object: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true });
}
