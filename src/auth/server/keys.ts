import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { writePrivateFile } from '../../private-file.ts';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import type { SharedValues } from '../storage/shared-values.ts';

/**
 * Each environment's authorization server has keys of its own, made on first start and kept in
 * `<dataDir>/auth/<environment>.keys.json` (readable by its owner only): the ES256 keys that sign
 * access tokens (the first one signs; the others still verify, which is how keys rotate) and the
 * secrets that sign its cookies. When the authorization state is shared (Redis), so are the keys:
 * they are kept in the shared store instead, made by the first replica to start, so that a token
 * signed by one replica verifies on every other (and a cookie set by one is read by the next).
 */

export interface EnvironmentKeys {
  /** Private JWKs; the first signs. */
  signing: JWK[];
  /** Secrets for cookie signatures; the first signs. */
  cookies: string[];
}

export function keysPath(dataDir: string, environment: string): string {
  return join(dataDir, 'auth', `${environment}.keys.json`);
}

/** The name of an environment's keys among the shared values. */
export function sharedKeysName(environment: string): string {
  return `keys:${environment}`;
}

export async function loadOrCreateKeys(
  dataDir: string,
  environment: string,
  shared?: SharedValues
): Promise<EnvironmentKeys> {
  if (shared !== undefined) {
    const name = sharedKeysName(environment);
    const stored = await shared.sharedValue(name, async () => JSON.stringify(await newKeys()));
    return checked(JSON.parse(stored) as Partial<EnvironmentKeys>, `the shared store's ${name}`);
  }
  const path = keysPath(dataDir, environment);
  if (existsSync(path)) return checked(JSON.parse(readFileSync(path, 'utf8')) as Partial<EnvironmentKeys>, path);
  const keys = await newKeys();
  mkdirSync(join(dataDir, 'auth'), { recursive: true, mode: 0o700 });
  // Written to a temporary file first, so a crash never leaves half a key file.
  const temporary = `${path}.${process.pid}.tmp`;
  writePrivateFile(temporary, `${JSON.stringify(keys, null, 2)}\n`);
  renameSync(temporary, path);
  return keys;
}

async function newKeys(): Promise<EnvironmentKeys> {
  return { signing: [await newSigningKey()], cookies: [randomBytes(32).toString('base64url')] };
}

function checked(stored: Partial<EnvironmentKeys>, where: string): EnvironmentKeys {
  if (
    !Array.isArray(stored.signing) ||
    stored.signing.length === 0 ||
    !Array.isArray(stored.cookies) ||
    stored.cookies.length === 0
  ) {
    throw new Error(`${where} holds no signing keys or cookie secrets`);
  }
  return { signing: stored.signing, cookies: stored.cookies };
}

/**
 * Puts a new signing key first in an environment's key file; the previous ones stay (at most
 * `keep` in all) so that tokens they signed keep verifying until they expire. Takes effect at the
 * next start.
 */
export async function rotateSigningKey(
  dataDir: string,
  environment: string,
  keep = 3,
  shared?: SharedValues
): Promise<JWK> {
  const current = await loadOrCreateKeys(dataDir, environment, shared);
  const fresh = await newSigningKey();
  const keys: EnvironmentKeys = { signing: [fresh, ...current.signing].slice(0, keep), cookies: current.cookies };
  // With shared storage (Redis) the keys every replica reads are there, not in the data directory.
  if (shared !== undefined) {
    await shared.replaceSharedValue(sharedKeysName(environment), JSON.stringify(keys));
    return fresh;
  }
  const path = keysPath(dataDir, environment);
  const temporary = `${path}.${process.pid}.tmp`;
  writePrivateFile(temporary, `${JSON.stringify(keys, null, 2)}\n`);
  renameSync(temporary, path);
  return fresh;
}

export async function newSigningKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg: 'ES256', use: 'sig' };
}

/** The public half of signing keys, for verifying tokens. */
export function publicKeys(keys: readonly JWK[]): JWK[] {
  return keys.map(({ d: _private, ...rest }) => rest);
}
