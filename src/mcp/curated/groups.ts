import type { SessionIdentity } from '../../db/driver.ts';
import { SqlbridgeError } from '../../errors/sqlbridge-error.ts';

/**
 * Tools offered to some groups only. A caller outside them is not shown the tool (tools/list), and a
 * call that reaches it anyway (a session opened before their groups changed) is refused before any
 * SQL runs. Callers without sign-in belong to no group.
 */

export function inGroups(groups: readonly string[], identity: SessionIdentity | undefined): boolean {
  return (identity?.groups ?? []).some(group => groups.includes(group));
}

export function refuseOutsideGroups(
  tool: string,
  groups: readonly string[],
  identity: SessionIdentity | undefined
): void {
  if (inGroups(groups, identity)) return;
  throw new SqlbridgeError('access_denied', `the tool ${tool} is not offered to this user`, {
    expose: true,
    hint: 'ask an administrator to add you to a group that may use it'
  });
}
