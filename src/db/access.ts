import { SqlbridgeError } from '../errors/sqlbridge-error.ts';
import type { SessionIdentity } from './driver.ts';

/**
 * Which database role a caller's statements run as: the environment's `access` setting applied to
 * the signed-in user and their groups. The role is switched to inside the database session, so the
 * database itself enforces its grants and row-level security for that caller.
 */

export interface AccessPolicy {
  /** Group name, or `user:<username>` → database role. */
  roles: Readonly<Record<string, string>>;
  /** The role of a caller no mapping matches (and of local callers without sign-in); `none` refuses them. */
  default: string;
}

/** The `default` that refuses callers no mapping matches. */
export const NO_ROLE = 'none';

/**
 * The caller's role: a `user:<username>` mapping first, then the first of the user's groups (in the
 * order `auth.users[].groups` lists them) that is mapped, then `default`. Undefined when none applies
 * (`default: none`).
 */
export function resolveRole(policy: AccessPolicy, identity: SessionIdentity | undefined): string | undefined {
  const subject = identity?.subject;
  if (subject !== undefined && subject !== null) {
    const wanted = userKey(subject);
    for (const [key, role] of Object.entries(policy.roles)) {
      if (key.startsWith('user:') && userKey(key.slice('user:'.length)) === wanted) return role;
    }
  }
  for (const group of identity?.groups ?? []) {
    // A group named like a user mapping (groups may come from elsewhere than the configuration) is no group.
    if (group.startsWith('user:')) continue;
    if (Object.hasOwn(policy.roles, group)) return policy.roles[group];
  }
  return policy.default === NO_ROLE ? undefined : policy.default;
}

/** The caller's role, or the refusal of a caller who has none; nothing has reached the database then. */
export function requireRole(policy: AccessPolicy, identity: SessionIdentity | undefined): string {
  const role = resolveRole(policy, identity);
  if (role !== undefined) return role;
  const who =
    identity?.subject === undefined || identity.subject === null
      ? 'a caller without sign-in'
      : `the user ${JSON.stringify(identity.subject)}`;
  return refuse(
    `${who} has no database role in this environment: neither the user nor any of their groups is mapped in access.roles, and access.default is "none"`
  );
}

function refuse(message: string): never {
  throw new SqlbridgeError('access_denied', message, {
    expose: true,
    hint: 'ask an administrator to map your user or one of your groups to a database role'
  });
}

/** Usernames compare as the user directory compares them: case-insensitively, NFC. */
function userKey(username: string): string {
  return username.normalize('NFC').toLowerCase();
}
