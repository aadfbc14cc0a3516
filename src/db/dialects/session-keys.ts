import { SqlbridgeError } from '../../errors/sqlbridge-error.ts';
import type { SessionValues } from '../driver.ts';

/**
 * The session keys of a query, checked once more where a driver spells them into SQL (a setting
 * name, a variable name, a literal). The configuration schema allows only these already; a driver
 * that relied on that alone would turn a gap there into SQL injection.
 */

const SESSION_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The keys and values of `session` in a stable order, or an empty list when there are none. `maxLength`
 * is the longest key the engine can hold (MySQL user variable names end at 64 characters).
 */
export function sessionEntries(
  session: SessionValues | undefined,
  maxLength: number
): [key: string, value: string | null][] {
  if (session === undefined) return [];
  const entries = Object.entries(session);
  for (const [key] of entries) {
    if (!SESSION_KEY.test(key) || key.length > maxLength) {
      throw new SqlbridgeError(
        'config_invalid',
        'an identity key cannot be set into this database session; the environment’s identity setting needs changing',
        {
          detail: `identity key ${JSON.stringify(key)}: a letter or "_" followed by letters, digits or "_", at most ${maxLength} characters on this engine`
        }
      );
    }
  }
  return entries.map(([key, value]) => [key, value ?? null]);
}
