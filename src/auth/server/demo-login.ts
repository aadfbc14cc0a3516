import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { writePrivateFile } from '../../private-file.ts';
import { join } from 'node:path';
import { hashPassword, isPasswordHash } from './passwords.ts';
import type { User } from './users.ts';

/**
 * The demo's login: user `demo`, with a password generated at first start, shown once, and kept
 * only as a hash in `<dataDir>/auth/demo-login.json`. Delete that file for a new password.
 */

export const DEMO_USERNAME = 'demo';

export interface DemoLogin {
  user: User;
  /** The password, only when it was just generated (first start). */
  newPassword?: string;
  path: string;
}

export async function ensureDemoLogin(dataDir: string, environments: readonly string[]): Promise<DemoLogin> {
  const path = join(dataDir, 'auth', 'demo-login.json');
  const user = (passwordHash: string): User => ({
    username: DEMO_USERNAME,
    passwordHash,
    environments,
    scopes: ['sql:read'],
    disabled: false,
    attributes: {}
  });
  if (existsSync(path)) {
    const stored = JSON.parse(readFileSync(path, 'utf8')) as { passwordHash?: unknown };
    if (typeof stored.passwordHash === 'string' && isPasswordHash(stored.passwordHash)) {
      return { user: user(stored.passwordHash), path };
    }
    throw new Error(`${path} does not hold a password hash; delete it to make a new demo password`);
  }
  // Four groups of five letters and digits: easy to type, about 100 bits.
  const alphabet = 'abcdefghijkmnpqrstuvwxyz23456789';
  const bytes = randomBytes(20);
  const password = Array.from(bytes, b => alphabet[b % alphabet.length])
    .join('')
    .replace(/(.{5})(?=.)/g, '$1-');
  const passwordHash = await hashPassword(password);
  mkdirSync(join(dataDir, 'auth'), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  writePrivateFile(temporary, `${JSON.stringify({ username: DEMO_USERNAME, passwordHash }, null, 2)}\n`);
  renameSync(temporary, path);
  return { user: user(passwordHash), newPassword: password, path };
}
