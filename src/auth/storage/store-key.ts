import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { writePrivateFile } from '../../private-file.ts';
import { join } from 'node:path';

/**
 * The deployment's key for authorization state at rest: 32 random bytes in
 * `<dataDir>/auth/store.key` (readable by its owner only), made on first start. The store keeps
 * every token, code and session id only as an HMAC under this key, and registered clients' secrets
 * likewise (hashed-store.ts, server/client-secrets.ts). A hash cannot be turned back into the value
 * even with the key, so a copy of the data directory yields no usable token; the key only has to stay
 * the same for the values people hold to be found again. Losing it is like losing auth.sqlite: people
 * sign in again and applications register again. It is never logged.
 */

export const STORE_KEY_BYTES = 32;

export function storeKeyPath(dataDir: string): string {
  return join(dataDir, 'auth', 'store.key');
}

export function loadOrCreateStoreKey(dataDir: string): Buffer {
  const path = storeKeyPath(dataDir);
  const existing = readKey(path);
  if (existing !== undefined) return existing;
  mkdirSync(join(dataDir, 'auth'), { recursive: true, mode: 0o700 });
  // Written to a temporary file, then linked into place: a crash never leaves half a key, and of two
  // processes starting together the first link wins and both use its key.
  const temporary = `${path}.${process.pid}.tmp`;
  writePrivateFile(temporary, randomBytes(STORE_KEY_BYTES));
  try {
    linkSync(temporary, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    rmSync(temporary, { force: true });
  }
  const key = readKey(path);
  if (key === undefined) throw new Error(`${path} could not be created`);
  return key;
}

function readKey(path: string): Buffer | undefined {
  let key: Buffer;
  try {
    key = readFileSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  if (key.length !== STORE_KEY_BYTES) {
    throw new Error(`${path} does not hold a key of ${STORE_KEY_BYTES} bytes (it holds ${key.length})`);
  }
  return key;
}
