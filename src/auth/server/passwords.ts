import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Password hashes for the users in the configuration: scrypt (RFC 7914) with a random salt, written
 * as `scrypt$<N>$<r>$<p>$<salt>$<hash>` (base64url). `sqlbridge hash-password` prints one.
 */

const DEFAULTS = { N: 2 ** 15, r: 8, p: 1 };

/** The longest password the sign-in form reads; `hash-password` refuses longer ones, which could never match. */
export const MAX_PASSWORD_LENGTH = 1024;
const KEY_LENGTH = 32;
const PREFIX = 'scrypt';

function derive(password: string, salt: Buffer, options: { N: number; r: number; p: number }): Promise<Buffer> {
  const scryptOptions: ScryptOptions = { ...options, maxmem: 256 * options.N * options.r };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, KEY_LENGTH, scryptOptions, (error, key) => {
      if (error === null) resolve(key);
      else reject(error);
    });
  });
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, DEFAULTS);
  return [PREFIX, DEFAULTS.N, DEFAULTS.r, DEFAULTS.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** Whether a string is a hash this module can verify (for configuration validation). */
export function isPasswordHash(value: string): boolean {
  return parseHash(value) !== undefined;
}

interface ParsedHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  key: Buffer;
}

function parseHash(value: string): ParsedHash | undefined {
  const parts = value.split('$');
  if (parts.length !== 6 || parts[0] !== PREFIX) return undefined;
  const [N, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  const salt = Buffer.from(parts[4] ?? '', 'base64url');
  const key = Buffer.from(parts[5] ?? '', 'base64url');
  const powerOfTwo = Number.isInteger(N) && N >= 2 ** 14 && N <= 2 ** 20 && (N & (N - 1)) === 0;
  if (!powerOfTwo || !Number.isInteger(r) || r < 1 || r > 32 || !Number.isInteger(p) || p < 1 || p > 16)
    return undefined;
  if (salt.length < 16 || key.length !== KEY_LENGTH) return undefined;
  return { N, r, p, salt, key };
}

/** A hash of a random password, compared against when the user does not exist, so that timing does not tell. */
let decoy: Promise<string> | undefined;

/** Whether `password` matches `hash`; an undefined hash (unknown user) costs the same time and fails. */
export async function verifyPassword(password: string, hash: string | undefined): Promise<boolean> {
  decoy ??= hashPassword(randomBytes(16).toString('hex'));
  const parsed = parseHash(hash ?? (await decoy)) ?? parseHash(await decoy);
  if (parsed === undefined) return false;
  const key = await derive(password, parsed.salt, parsed);
  return timingSafeEqual(key, parsed.key) && hash !== undefined;
}
