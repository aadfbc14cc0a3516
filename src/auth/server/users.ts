import type { Config } from '../../config/schema.ts';

/** The people who may sign in: the configured users, and the demo login when the demo is served. */

export type SqlScope = 'sql:read' | 'sql:write';

export interface User {
  username: string;
  passwordHash: string;
  /** Environment names, or `*`. */
  environments: readonly string[];
  scopes: readonly SqlScope[];
  disabled: boolean;
  /** Facts environments may set into the database session (`identity: { key: attributes.<name> }`). */
  attributes: Readonly<Record<string, string | number | boolean>>;
  /** The user's groups in order of preference, which environments map to database roles (`access.roles`). */
  groups?: readonly string[];
}

export class UserDirectory {
  private readonly users = new Map<string, User>();

  constructor(users: readonly User[]) {
    this.replace(users);
  }

  /** Everyone at once, as a reloaded configuration says: from the next check on, a removed or disabled user is refused. */
  replace(users: readonly User[]): void {
    const next = new Map<string, User>();
    for (const user of users) next.set(key(user.username), user);
    this.users.clear();
    for (const [name, user] of next) this.users.set(name, user);
  }

  get size(): number {
    return this.users.size;
  }

  static fromConfig(config: Config, extra: readonly User[] = []): UserDirectory {
    return new UserDirectory([...config.auth.users, ...extra]);
  }

  /** The user of this name (case-insensitive), disabled or not. */
  find(username: string): User | undefined {
    return this.users.get(key(username));
  }

  /** Whether the user may act in the environment now. */
  allowed(username: string, environment: string): User | undefined {
    const user = this.find(username);
    if (user === undefined || user.disabled) return undefined;
    return user.environments.includes('*') || user.environments.includes(environment) ? user : undefined;
  }
}

/** Whether a user may hold a scope: `sql:*` scopes only as configured for them; others (offline_access) always. */
export function permits(user: User, scope: string): boolean {
  return !scope.startsWith('sql:') || (user.scopes as readonly string[]).includes(scope);
}

function key(username: string): string {
  return username.normalize('NFC').toLowerCase();
}
