import type { AuditRecord } from '../audit/record.ts';
import type { AuditEntry, AuditTrail } from '../audit/trail.ts';
import { auditFilePath } from '../audit/trail-files.ts';
import type { AuthorizationServers } from '../auth/authorization-servers.ts';
import { rotateSigningKey } from '../auth/server/keys.ts';
import type { UserRecords } from '../auth/server/user-records.ts';
import type { UserDirectory } from '../auth/server/users.ts';
import type { ConfiguredAuthStore } from '../auth/storage/open-store.ts';
import type { Config } from '../config/schema.ts';
import { AdminError } from './admin-error.ts';
import type {
  AdminActor,
  Administration,
  AuditQuery,
  ClientFilter,
  ClientSummary,
  GrantFilter,
  GrantSummary,
  UserFilter,
  UserSummary
} from './admin-types.ts';
import { searchAuditTrail } from './audit-search.ts';
import { redirectHosts, type ClientRecord } from './client-records.ts';
import type { GrantRecord } from './grant-records.ts';
import { environmentRecords, type EnvironmentRecords } from './provider-records.ts';

/**
 * The administration of a deployment, for the console and the CLI alike. Everything acts on the
 * OAuth store the authorization servers use, the way oidc-provider itself does (a grant revoked is
 * its Grant row destroyed and every row issued under it removed by grant id; a client deleted is its
 * Client row destroyed), so it works the same inside a running server and from `sqlbridge admin`
 * against the store alone. What other processes remember is then told to them:
 *
 * - grants: `grants.revoked` to every replica, whose token verifiers forget what they cached of
 *   those grants, so their tokens fail on the very next call; this process's own verifiers are told
 *   directly (`local`). Without replicas to tell (SQLite), a server notices at its next grant check.
 * - users: UserRecords writes the disabled flag and broadcasts `users.changed`.
 * - keys: `keys.rotated`, and this process's servers reload theirs.
 *
 * Every action is recorded in the audit trail, naming who did it (`user`) and what it was done to.
 */

/** What only a running server can do at once in its own process. */
export interface LocalEffects {
  forgetGrants(environment: string, grantIds: readonly string[]): void;
  reloadKeys(environments: readonly string[]): Promise<string[]>;
}

export interface AdminServiceOptions {
  config: Config;
  store: ConfiguredAuthStore;
  users: UserDirectory;
  records: UserRecords;
  audit: AuditTrail;
  local?: LocalEffects;
  /** Run by `close()`: what the service opened for itself (the CLI's store and trail). */
  release?: () => Promise<void>;
}

export class AdminService implements Administration {
  private readonly config: Config;
  private readonly store: ConfiguredAuthStore;
  private readonly directory: UserDirectory;
  private readonly userRecords: UserRecords;
  private readonly trail: AuditTrail;
  private readonly local: LocalEffects | undefined;
  private readonly release: (() => Promise<void>) | undefined;
  private readonly byEnvironment = new Map<string, EnvironmentRecords>();

  constructor(options: AdminServiceOptions) {
    this.config = options.config;
    this.store = options.store;
    this.directory = options.users;
    this.userRecords = options.records;
    this.trail = options.audit;
    this.local = options.local;
    this.release = options.release;
    for (const name of Object.keys(options.config.environments)) {
      this.byEnvironment.set(name, environmentRecords(options.store, options.config, name));
    }
  }

  /** Inside a running server: its store, users and authorization servers, and the deployment's audit trail. */
  static forServers(servers: AuthorizationServers, audit: AuditTrail): AdminService {
    return new AdminService({
      config: servers.config,
      store: servers.store,
      users: servers.users,
      records: servers.records,
      audit,
      local: {
        forgetGrants: (environment, grantIds) => servers.forgetGrants(environment, grantIds),
        reloadKeys: async names => servers.reloadKeys(names)
      }
    });
  }

  /** Releases what the service opened for itself (nothing inside a server). */
  async close(): Promise<void> {
    await this.release?.();
  }

  /** The environments administered, as configured. */
  environments(): string[] {
    return this.environmentNames();
  }

  async clients(filter: ClientFilter = {}): Promise<ClientSummary[]> {
    const summaries: ClientSummary[] = [];
    for (const environment of this.environmentNames(filter.environment)) {
      const records = new Map((await this.records(environment).clients.list()).map(r => [r.clientId, r]));
      for (const client of this.config.auth.clients) {
        const used = records.get(client.clientId)?.lastUsedAt;
        records.delete(client.clientId);
        summaries.push({
          environment,
          clientId: client.clientId,
          kind: 'static',
          redirectHosts: redirectHosts(client.redirectUris),
          ...(client.name === undefined ? {} : { name: client.name }),
          ...(used === undefined ? {} : { lastUsedAt: used })
        });
      }
      for (const record of records.values()) summaries.push(clientSummary(environment, record));
    }
    const q = filter.q?.trim().toLowerCase();
    const matching =
      q === undefined || q === ''
        ? summaries
        : summaries.filter(client =>
            [client.clientId, client.name ?? '', ...client.redirectHosts].some(text => text.toLowerCase().includes(q))
          );
    return matching.sort((a, b) => (b.lastUsedAt ?? b.registeredAt ?? 0) - (a.lastUsedAt ?? a.registeredAt ?? 0));
  }

  async grants(filter: GrantFilter = {}): Promise<GrantSummary[]> {
    const user = filter.user?.toLowerCase();
    const summaries: GrantSummary[] = [];
    for (const environment of this.environmentNames(filter.environment)) {
      const records = this.records(environment);
      const names = await this.clientNames(records);
      for (const grant of await records.grants.list()) {
        if (user !== undefined && grant.accountId.toLowerCase() !== user) continue;
        if (filter.clientId !== undefined && grant.clientId !== filter.clientId) continue;
        summaries.push(grantSummary(environment, grant, names.get(grant.clientId)));
      }
    }
    return summaries.sort((a, b) => b.grantedAt - a.grantedAt);
  }

  async users(filter: UserFilter = {}): Promise<UserSummary[]> {
    const rows = await this.userRecords.rows();
    const held = new Map<string, number>();
    for (const grant of await this.grants()) {
      const name = grant.user.toLowerCase();
      held.set(name, (held.get(name) ?? 0) + 1);
    }
    const q = filter.q?.trim().toLowerCase();
    const summaries: UserSummary[] = [];
    for (const user of this.directory.all()) {
      const name = user.username.toLowerCase();
      const grants = held.get(name) ?? 0;
      if (filter.active === true && grants === 0) continue;
      const texts = [user.username, user.email ?? '', user.displayName ?? ''];
      if (q !== undefined && q !== '' && !texts.some(text => text.toLowerCase().includes(q))) continue;
      const lastSignInAt = rows.get(user.username.normalize('NFC').toLowerCase())?.lastSignInAt;
      summaries.push({
        username: user.username,
        ...(user.email === undefined ? {} : { email: user.email }),
        ...(user.displayName === undefined ? {} : { displayName: user.displayName }),
        origin: user.origin ?? 'config',
        groups: [...(user.groups ?? [])],
        environments: [...user.environments],
        scopes: [...user.scopes],
        disabled: user.disabled,
        ...(lastSignInAt === undefined ? {} : { lastSignInAt }),
        grants
      });
    }
    return summaries;
  }

  async audit(query: AuditQuery = {}): Promise<AuditRecord[]> {
    // What was just recorded (this very console's actions) is written before the trail is read.
    await this.trail.flush();
    return searchAuditTrail(auditFilePath(this.config), query);
  }

  async revokeGrant(environment: string, grantId: string, actor: AdminActor): Promise<boolean> {
    const records = this.records(environment);
    const record = await records.grants.find(grantId);
    const grant = await this.store.adapter(environment, 'Grant').find(grantId);
    if (record === undefined && grant === undefined) return false;
    await this.removeGrants(environment, [grantId]);
    this.record(actor, {
      event: 'admin.grant_revoked',
      environment,
      ...(record === undefined ? {} : { clientId: record.clientId }),
      detail: { grantId, ...(record === undefined ? {} : { account: record.accountId }) }
    });
    return true;
  }

  async deleteClient(environment: string, clientId: string, actor: AdminActor): Promise<boolean> {
    const records = this.records(environment);
    if (this.config.auth.clients.some(client => client.clientId === clientId)) {
      throw new AdminError(
        'client',
        `${clientId} is configured in auth.clients: remove it from the configuration (and reload) instead`
      );
    }
    const record = await records.clients.find(clientId);
    const client = await this.store.adapter(environment, 'Client').find(clientId);
    if (record === undefined && client === undefined) return false;
    const grantIds = await this.grantIdsOfClient(environment, clientId);
    await this.removeGrants(environment, grantIds);
    await this.store.adapter(environment, 'Client').destroy(clientId);
    await records.clients.remove(clientId);
    this.record(actor, {
      event: 'admin.client_deleted',
      environment,
      clientId,
      detail: { clientId, grantsRevoked: grantIds.length }
    });
    return true;
  }

  async setUserDisabled(username: string, disabled: boolean, actor: AdminActor): Promise<boolean> {
    const user = this.directory.find(username);
    if (user === undefined) return false;
    if (disabled && user.username.toLowerCase() === actor.username.toLowerCase()) {
      throw new AdminError('user', 'you cannot disable your own account (another administrator can)');
    }
    if (!disabled && this.directory.disabledInConfiguration(user.username)) {
      throw new AdminError(
        'user',
        `${user.username} is disabled in the configuration (auth.users, disabled: true); enable them there and reload the configuration (SIGHUP)`
      );
    }
    await this.userRecords.setDisabled(user.username, disabled, actor.username);
    this.record(actor, {
      event: disabled ? 'admin.user_disabled' : 'admin.user_enabled',
      detail: { username: user.username }
    });
    return true;
  }

  /**
   * Ends the grants of accounts that are no longer users (removed from `auth.users`), with every
   * token issued under them: a user configured later under the same name must not inherit them.
   * `usernames` limits it to those names (the users a reload removed); without it, every grant whose
   * account no user has is ended. The grants ended.
   */
  async endGrantsOfRemovedUsers(usernames?: readonly string[]): Promise<GrantSummary[]> {
    const names = usernames === undefined ? undefined : new Set(usernames.map(name => name.toLowerCase()));
    const ended: GrantSummary[] = [];
    for (const grant of await this.grants()) {
      if (names !== undefined && !names.has(grant.user.toLowerCase())) continue;
      if (this.directory.find(grant.user) !== undefined) continue;
      await this.removeGrants(grant.environment, [grant.grantId]);
      this.trail.record({
        event: 'grant.revoked',
        outcome: 'ok',
        environment: grant.environment,
        user: grant.user,
        clientId: grant.clientId,
        detail: { grantId: grant.grantId, reason: 'user_removed' }
      });
      ended.push(grant);
    }
    return ended;
  }

  async rotateKeys(environments: readonly string[] | undefined, actor: AdminActor): Promise<string[]> {
    const names = environments === undefined || environments.length === 0 ? this.environmentNames() : [];
    for (const name of environments ?? []) names.push(...this.environmentNames(name));
    for (const name of names) await rotateSigningKey(this.config.dataDir, name, 3, this.store.shared);
    await this.local?.reloadKeys(names);
    await this.store.cluster.broadcast({ type: 'keys.rotated', environments: names });
    this.record(actor, { event: 'admin.keys_rotated', detail: { environments: names.join(',') } });
    return names;
  }

  /** Destroys grants and every row issued under them (tokens, codes, remembered consent, records), then tells whoever cached them. */
  private async removeGrants(environment: string, grantIds: readonly string[]): Promise<void> {
    if (grantIds.length === 0) return;
    const records = this.records(environment);
    const grants = this.store.adapter(environment, 'Grant');
    for (const grantId of grantIds) {
      await grants.destroy(grantId);
      // Stores index every row by its grant id, whatever its model: one call removes them all.
      await grants.revokeByGrantId(grantId);
      await records.grants.remove(grantId);
    }
    this.local?.forgetGrants(environment, grantIds);
    await this.store.cluster.broadcast({ type: 'grants.revoked', environment, grantIds: [...grantIds] });
  }

  /**
   * A client's grants: from the grant records, and from the refresh tokens and codes it holds (they
   * carry their grant id in clear), for grants given before records were kept.
   */
  private async grantIdsOfClient(environment: string, clientId: string): Promise<string[]> {
    const ids = new Set<string>();
    for (const grant of await this.records(environment).grants.list()) {
      if (grant.clientId === clientId) ids.add(grant.grantId);
    }
    for (const model of ['RefreshToken', 'AuthorizationCode']) {
      for (const { payload } of await this.store.list(environment, model)) {
        if (payload['clientId'] === clientId && typeof payload['grantId'] === 'string') ids.add(payload['grantId']);
      }
    }
    return [...ids];
  }

  private async clientNames(records: EnvironmentRecords): Promise<Map<string, string>> {
    const names = new Map<string, string>();
    for (const client of await records.clients.list()) {
      if (client.name !== undefined) names.set(client.clientId, client.name);
    }
    for (const client of this.config.auth.clients) {
      if (client.name !== undefined) names.set(client.clientId, client.name);
    }
    return names;
  }

  private record(actor: AdminActor, entry: Omit<AuditEntry, 'outcome' | 'user'>): void {
    this.trail.record({
      ...entry,
      outcome: 'ok',
      user: actor.username,
      ...(actor.requestId === undefined ? {} : { requestId: actor.requestId }),
      ...(actor.remoteAddress === undefined ? {} : { remoteAddress: actor.remoteAddress })
    });
  }

  /** Every environment, or the one named (an unknown name is an error that names it). */
  private environmentNames(name?: string): string[] {
    const names = [...this.byEnvironment.keys()];
    if (name === undefined) return names;
    if (!this.byEnvironment.has(name)) {
      throw new AdminError('environment', `there is no environment named "${name}" (configured: ${names.join(', ')})`);
    }
    return [name];
  }

  private records(environment: string): EnvironmentRecords {
    const records = this.byEnvironment.get(this.environmentNames(environment)[0] ?? '');
    if (records === undefined) throw new AdminError('environment', `there is no environment named "${environment}"`);
    return records;
  }
}

function clientSummary(environment: string, record: ClientRecord): ClientSummary {
  return {
    environment,
    clientId: record.clientId,
    kind: record.kind,
    redirectHosts: [...record.redirectHosts],
    ...(record.name === undefined ? {} : { name: record.name }),
    ...(record.registeredAt === undefined ? {} : { registeredAt: record.registeredAt }),
    ...(record.lastUsedAt === undefined ? {} : { lastUsedAt: record.lastUsedAt })
  };
}

function grantSummary(environment: string, grant: GrantRecord, clientName: string | undefined): GrantSummary {
  return {
    environment,
    grantId: grant.grantId,
    user: grant.accountId,
    clientId: grant.clientId,
    scope: grant.scope,
    grantedAt: grant.grantedAt,
    ...(clientName === undefined ? {} : { clientName }),
    ...(grant.expiresAt === undefined ? {} : { expiresAt: grant.expiresAt })
  };
}
