/**
 * Layer 3 of read-only protection: what the database login itself may do. A read-only environment
 * is safest when its login could not write even if a statement got past the statement guard and
 * the read-only transaction; each dialect's probe asks the server and reports what would allow it.
 */

export interface PrivilegeReport {
  /** The login, as the server names it. */
  login: string;
  /** Whether the login could change data, schema, permissions or server state. */
  canWrite: boolean;
  /** What allows writing: a role, a permission, a table privilege (at most a few of each kind). */
  findings: string[];
  /**
   * Facts that limit writing without removing the privilege (a read-only default, a replica), and
   * what the server could not be asked ("sqlbridge could not determine …"): the verdict rests on the rest.
   */
  notes: string[];
}

export interface PrivilegeProbe {
  check(): Promise<PrivilegeReport>;
}

/** The first `limit` items, and how many more there were. */
export function summarize(kind: string, items: readonly string[], limit = 5): string[] {
  if (items.length === 0) return [];
  const shown = items.slice(0, limit).join(', ');
  const more = items.length > limit ? ` and ${items.length - limit} more` : '';
  return [`${kind}: ${shown}${more}`];
}
