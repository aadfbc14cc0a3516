import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { STORE_KEY_BYTES } from './store-key.ts';

/**
 * HMAC-SHA-256 under the deployment's store key (store-key.ts), and sealing with keys derived from
 * it. `purpose` separates the uses (a row key, a user code, a client secret) so that one hash can
 * never stand in for another. The key lives in a private field: it is not enumerable, not in
 * JSON.stringify, not in util.inspect, so an object logged by mistake does not carry it.
 */
export class KeyedHash {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== STORE_KEY_BYTES) throw new Error(`a store key has ${STORE_KEY_BYTES} bytes`);
    this.#key = Buffer.from(key);
  }

  /** base64url HMAC-SHA-256 of `value` for `purpose`. */
  digest(purpose: string, value: string): string {
    return this.mac(purpose, value).toString('base64url');
  }

  /**
   * Encrypts `plaintext` (AES-256-GCM) under a key derived from `secret`: only whoever holds
   * `secret` can read it back, the key file alone does not suffice. `context` is authenticated with
   * it, so a sealed value copied to another row does not open there.
   */
  seal(secret: string, context: string, plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.mac('seal', secret), iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
  }

  /** What `seal` sealed, or undefined when `secret` or `context` is not the one it was sealed with. */
  open(secret: string, context: string, sealed: string): string | undefined {
    const bytes = Buffer.from(sealed, 'base64url');
    if (bytes.length < 28) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.mac('seal', secret), bytes.subarray(0, 12));
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(bytes.subarray(12, 28));
      return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString('utf8');
    } catch {
      return undefined;
    }
  }

  private mac(purpose: string, value: string): Buffer {
    return createHmac('sha256', this.#key).update(purpose, 'utf8').update('\u0000').update(value, 'utf8').digest();
  }
}
