import type { SessionValues } from '../../driver.ts';
import { sessionEntries } from '../session-keys.ts';

/**
 * The caller's identity as MySQL/MariaDB user variables, `@sqlbridge_<key>`. User variables belong
 * to the connection, not the transaction, and pooled connections pass from caller to caller: so every
 * statement sets all of its keys (NULL where the caller has no value), and also clears any key an
 * earlier caller on the same connection had that this query does not set.
 */

/** User variable names end at 64 characters; `sqlbridge_` takes 10 of them. */
const MAX_KEY_LENGTH = 54;

export interface MysqlSessionStatement {
  sql: string;
  values: (string | null)[];
  /** The keys the statement leaves holding a value, for the next query on the connection to clear. */
  keys: ReadonlySet<string>;
}

/**
 * The `SET @sqlbridge_<key> = ?, …` that gives a connection exactly `session`, given the keys it
 * holds from before; undefined when nothing needs setting (no keys now or before).
 */
export function mysqlSessionStatement(
  session: SessionValues | undefined,
  held: ReadonlySet<string>
): MysqlSessionStatement | undefined {
  const entries = sessionEntries(session, MAX_KEY_LENGTH);
  const keys = new Set(entries.map(([key]) => key));
  const stale = [...held].filter(key => !keys.has(key)).map((key): [string, null] => [key, null]);
  const all = [...entries, ...stale];
  if (all.length === 0) return undefined;
  // Keys are checked to be plain names, which need no quoting as variable names.
  return {
    sql: `SET ${all.map(([key]) => `@sqlbridge_${key} = ?`).join(', ')}`,
    values: all.map(([, value]) => value),
    keys: new Set(entries.filter(([, value]) => value !== null).map(([key]) => key))
  };
}
