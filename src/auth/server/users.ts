import type { Config } from '../../config/schema.ts';

/**
 * The people who may sign in: the configured users, the demo login when the demo is served, and the
 * users an identity provider created just in time (user-records.ts keeps those, and the accounts an
 * administrator disabled, in the OAuth store). Lookups are synchronous and in memory: every token
 * check asks, so a disabled user or a lost group takes effect on the next call.
 */

export type SqlScope = 'sql:read' | 'sql:write';
/** What a user may hold: the SQL scopes, and the admin console's. */
export type UserScope = SqlScope | 'sqlbridge:admin';
export const ADMIN_SCOPE = 'sqlbridge:admin';

/** An account at an identity provider (`auth.federation.providers[].id`), by its subject, never its e-mail. */
export interface IdentityLink {
  provider: string;
  subject: string;
}

export interface User {
  /** The account name: a configured user's name, or `<provider>:<subject>` for one created just in time. */
  username: string;
  /** Absent: the user signs in through an identity provider only. */
  passwordHash?: string | undefined;
  /** For display and for refusing an identity provider's account with the same address; never an identity key. */
  email?: string | undefined;
  /** The name a provider gave (display only). */
  displayName?: string | undefined;
  /** Environment names, or `*`. */
  environments: readonly string[];
  scopes: readonly UserScope[];
  disabled: boolean;
  /** Facts environments may set into the database session (`identity: { key: attributes.<name> }`). */
  attributes: Readonly<Record<string, string | number | boolean>>;
  /** The user's groups in order of preference, which environments map to database roles (`access.roles`). */
  groups?: readonly string[];
  /** Provider accounts that sign in as this user. */
  identities?: readonly IdentityLink[];
  /** `federated`: created by a provider's sign-in (just in time), kept in the OAuth store. */
  origin?: 'config' | 'federated';
}

/** What members of each group may use (`auth.groups`). */
export type GroupGrants = Readonly<Record<string, { environments: readonly string[]; scopes: readonly UserScope[] }>>;

export class UserDirectory {
  private readonly configured = new Map<string, User>();
  private readonly federated = new Map<string, User>();
  private readonly disabledNames = new Set<string>();
  private readonly upstreamGroups = new Map<string, readonly string[]>();
  private groups: GroupGrants;
  private changes = 0;

  constructor(users: readonly User[], groups: GroupGrants = {}) {
    this.groups = groups;
    this.replace(users, groups);
  }

  /** Everyone configured at once, as a reloaded configuration says: from the next check on, a removed or disabled user is refused. */
  replace(users: readonly User[], groups: GroupGrants = this.groups): void {
    const next = new Map<string, User>();
    for (const user of users) next.set(key(user.username), { ...user, origin: user.origin ?? 'config' });
    this.groups = groups;
    this.configured.clear();
    for (const [name, user] of next) this.configured.set(name, user);
    this.changes++;
  }

  /** The users identity providers created, as the store holds them now (user-records.ts). */
  setFederated(users: readonly User[]): void {
    this.federated.clear();
    for (const user of users) this.upsertFederated(user);
    this.changes++;
  }

  upsertFederated(user: User): void {
    // A configured user of the same name always wins.
    if (!this.configured.has(key(user.username)))
      this.federated.set(key(user.username), { ...user, origin: 'federated' });
    this.changes++;
  }

  /** The accounts an administrator disabled (user-records.ts). */
  setDisabled(usernames: Iterable<string>): void {
    this.disabledNames.clear();
    for (const name of usernames) this.disabledNames.add(key(name));
    this.changes++;
  }

  /**
   * The groups identity providers last reported, per user name (user-records.ts): added after the
   * user's own (configured, or given when the provider created the user).
   */
  setUpstreamGroups(groups: Iterable<[string, readonly string[]]>): void {
    this.upstreamGroups.clear();
    for (const [name, list] of groups) this.upstreamGroups.set(key(name), list);
    this.changes++;
  }

  /**
   * Changes with every change to who the users are and what they may do: what was derived from the
   * directory under another version may no longer hold.
   */
  get version(): number {
    return this.changes;
  }

  get size(): number {
    return this.configured.size + this.federated.size;
  }

  static fromConfig(config: Config, extra: readonly User[] = []): UserDirectory {
    return new UserDirectory([...config.auth.users, ...extra], config.auth.groups);
  }

  /** The user of this name (case-insensitive), disabled or not, with what their groups add. */
  find(username: string): User | undefined {
    const user = this.configured.get(key(username)) ?? this.federated.get(key(username));
    return user === undefined ? undefined : this.resolve(user);
  }

  /** Whether the configuration itself disables the user (`disabled: true`), which no administrator's action undoes. */
  disabledInConfiguration(username: string): boolean {
    return this.configured.get(key(username))?.disabled === true;
  }

  /** Whether the user may act in the environment now. */
  allowed(username: string, environment: string): User | undefined {
    const user = this.find(username);
    if (user === undefined || user.disabled) return undefined;
    return user.environments.includes('*') || user.environments.includes(environment) ? user : undefined;
  }

  /** The user a provider's account signs in as: a configured user that links it, else the one created for it. */
  byIdentity(provider: string, subject: string): User | undefined {
    for (const user of this.configured.values()) {
      if (user.identities?.some(link => link.provider === provider && link.subject === subject) === true) {
        return this.resolve(user);
      }
    }
    return this.find(federatedUsername(provider, subject));
  }

  /** Users whose e-mail (or user name) is this address, case-insensitively. */
  byEmail(email: string): User[] {
    const wanted = key(email);
    return this.all().filter(user => key(user.email ?? '') === wanted || key(user.username) === wanted);
  }

  /** Everyone, configured first, with what their groups add. */
  all(): User[] {
    return [...this.configured.values(), ...this.federated.values()].map(user => this.resolve(user));
  }

  private resolve(user: User): User {
    const environments = new Set(user.environments);
    const scopes = new Set(user.scopes);
    const upstream = this.upstreamGroups.get(key(user.username));
    const groups = upstream === undefined ? (user.groups ?? []) : [...new Set([...(user.groups ?? []), ...upstream])];
    for (const group of groups) {
      const grants = this.groups[group];
      grants?.environments.forEach(name => environments.add(name));
      grants?.scopes.forEach(scope => scopes.add(scope));
    }
    return {
      ...user,
      ...(upstream === undefined ? {} : { groups }),
      environments: [...environments],
      scopes: [...scopes],
      disabled: user.disabled || this.disabledNames.has(key(user.username))
    };
  }
}

/** The account name of a user a provider created: `<provider>:<subject>` (configured names cannot hold `:`). */
export function federatedUsername(provider: string, subject: string): string {
  return `${provider}:${subject}`;
}

/**
 * Whether a user may hold a scope: `sql:*` scopes and `sqlbridge:admin` only as configured for them
 * (or their groups); others (offline_access) always.
 */
export function permits(user: User, scope: string): boolean {
  return !(scope.startsWith('sql:') || scope === ADMIN_SCOPE) || (user.scopes as readonly string[]).includes(scope);
}

function key(username: string): string {
  return username.normalize('NFC').toLowerCase();
}
