import type { QueryConfig } from 'pg';
import type { SessionValues } from '../../driver.ts';
import { sessionEntries } from '../session-keys.ts';

/**
 * The caller's identity as PostgreSQL settings: one `SELECT set_config('sqlbridge.<key>', $n, true), …`
 * run inside the query's transaction, so every value ends with it (is_local) and none reaches the
 * next caller on the pooled connection. A custom setting cannot hold NULL: a value the caller does
 * not have is '', which policies turn back into NULL with
 * `nullif(current_setting('sqlbridge.<key>', true), '')`.
 */

/** An identifier is at most 63 bytes: a longer key would be cut short when read with SHOW. */
const MAX_KEY_LENGTH = 63;

/** The statement that sets `session`, or undefined when there is nothing to set. */
export function postgresSessionQuery(session: SessionValues | undefined): QueryConfig | undefined {
  const entries = sessionEntries(session, MAX_KEY_LENGTH);
  if (entries.length === 0) return undefined;
  // Keys are checked to be plain names; the quotes are doubled all the same.
  const calls = entries.map(([key], i) => `set_config('sqlbridge.${key.replaceAll("'", "''")}', $${i + 1}, true)`);
  return { text: `SELECT ${calls.join(', ')}`, values: entries.map(([, value]) => value ?? '') };
}
