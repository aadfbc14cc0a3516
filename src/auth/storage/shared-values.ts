/**
 * Values every replica must hold alike, kept in the shared store rather than in each data directory:
 * the store key (store-key.ts) and each environment's signing keys and cookie secrets
 * (server/keys.ts). With a data directory per replica, keys made on first start would differ, and a
 * token one replica signed or a row it hashed would mean nothing to the others.
 */
export interface SharedValues {
  /** The value under `name`; the first replica to ask makes it with `create`, the others read it. */
  sharedValue(name: string, create: () => Promise<string> | string): Promise<string>;
  /** Replaces the value under `name` (key rotation). */
  replaceSharedValue(name: string, value: string): Promise<void>;
}
