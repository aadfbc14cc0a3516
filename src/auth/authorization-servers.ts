import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import { keepAdminRecords } from '../admin/provider-records.ts';
import type { Config } from '../config/schema.ts';
import { MemoryCounterStore } from '../http/limits/counter-store.ts';
import type { Environment } from '../environment.ts';
import type { Logger } from '../observability/logger.ts';
import { FederatedSignIn } from './federation/federated-sign-in.ts';
import { AccessTokenVerifier } from './resource/token-verifier.ts';
import { loadOrCreateKeys, publicKeys, type EnvironmentKeys } from './server/keys.ts';
import { createAuthorizationServer } from './server/provider.ts';
import { recordProviderEvents } from './server/provider-audit.ts';
import { LoginThrottle } from './server/throttle.ts';
import { UserRecords } from './server/user-records.ts';
import { UserDirectory, type User } from './server/users.ts';
import { openConfiguredAuthStore, type ConfiguredAuthStore } from './storage/open-store.ts';

/**
 * OAuth for every environment: an authorization server (issuer `<base>/<env>`) and the checks of the
 * resource server in front of its protected endpoints. Routes are registered before the HTTP server
 * listens, but issuers need the final public URL (a port of 0 is only known after listening), so the
 * servers themselves are built by `start()`; until then their routes answer 503.
 */

/** The endpoints an environment protects: Streamable HTTP, and the legacy HTTP+SSE transport. */
export type ProtectedEndpoint = 'mcp' | 'sse';
export const PROTECTED_ENDPOINTS: readonly ProtectedEndpoint[] = ['mcp', 'sse'];

/** One environment's authorization server, started. */
export interface ActiveAuthorizationServer {
  readonly environment: Environment;
  readonly issuer: string;
  /** `<issuer>/mcp` and `<issuer>/sse`: the resources its tokens are for. */
  readonly resources: Readonly<Record<ProtectedEndpoint, string>>;
  readonly provider: Provider;
  /** oidc-provider as a Node request listener. */
  readonly callback: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  readonly verifiers: Readonly<Record<ProtectedEndpoint, AccessTokenVerifier>>;
  readonly cookieSecret: string;
}

export interface AuthorizationServersOptions {
  config: Config;
  environments: readonly Environment[];
  logger: Logger;
  /** Users beyond the configured ones (the demo login). */
  extraUsers?: readonly User[];
}

export class AuthorizationServers {
  readonly config: Config;
  readonly logger: Logger;
  readonly store: ConfiguredAuthStore;
  readonly users: UserDirectory;
  /** Users created by identity providers and accounts disabled by an administrator, kept in the store. */
  readonly records: UserRecords;
  readonly throttle: LoginThrottle;
  /** Sign-in through the organisation's identity providers (`auth.federation`). */
  readonly federation: FederatedSignIn;
  readonly environments: readonly Environment[];
  private readonly keys: Map<string, EnvironmentKeys>;
  private readonly extraUsers: readonly User[];
  private readonly started = new Map<string, ActiveAuthorizationServer>();
  private base: URL | undefined;

  private constructor(
    options: AuthorizationServersOptions,
    store: ConfiguredAuthStore,
    keys: Map<string, EnvironmentKeys>
  ) {
    this.config = options.config;
    this.logger = options.logger;
    this.environments = options.environments;
    this.store = store;
    this.keys = keys;
    this.extraUsers = options.extraUsers ?? [];
    store.cluster.on('keys.rotated', message => {
      this.reloadKeys(message.environments).catch((error: unknown) => {
        this.logger.error({ err: error }, 'the rotated signing keys could not be loaded');
      });
    });
    store.cluster.on('grants.revoked', message => this.forgetGrants(message.environment, message.grantIds));
    // Keys rotated while this replica was not listening (revoked grants are checked again within grantCheckMs).
    store.cluster.onResync(() => {
      this.reloadKeys().catch((error: unknown) => {
        this.logger.error({ err: error }, 'the signing keys could not be read again');
      });
    });
    this.users = UserDirectory.fromConfig(options.config, this.extraUsers);
    this.records = new UserRecords(store, store.cluster, this.users, this.logger);
    this.federation = new FederatedSignIn({
      config: options.config,
      store,
      users: this.users,
      records: this.records,
      logger: this.logger,
      // One trail for the whole server; every environment holds it.
      audit: options.environments[0]?.audit
    });
    // A single process learns of changes another process made (`sqlbridge admin`) by reading again.
    if (!store.cluster.shared) this.records.startPolling(options.config.auth.grantCheckMs);
    const login = options.config.auth.login;
    this.throttle = new LoginThrottle(
      {
        perUser: login.maxFailuresPerUser,
        perAddress: login.maxFailuresPerAddress,
        windowMs: login.windowMinutes * 60_000
      },
      // Shared by every replica when the OAuth state is in Redis.
      store.counters ?? new MemoryCounterStore()
    );
  }

  static async create(options: AuthorizationServersOptions): Promise<AuthorizationServers> {
    const { config, logger } = options;
    const store = await openConfiguredAuthStore({
      dataDir: config.dataDir,
      storage: config.auth.storage,
      password: config.auth.storagePassword,
      logger
    });
    if (!store.persistent) {
      logger.warn(
        'auth.storage is "memory": registered clients, grants and refresh tokens are lost on restart, and replicas do not share them. Use it for tests only.'
      );
    }
    const keys = new Map<string, EnvironmentKeys>();
    for (const environment of options.environments) {
      keys.set(environment.name, await loadOrCreateKeys(config.dataDir, environment.name, store.shared));
    }
    const servers = new AuthorizationServers(options, store, keys);
    await servers.records.load();
    return servers;
  }

  /** Builds each environment's authorization server and token verifiers for the base URL clients use. */
  start(baseUrl: string): void {
    const base = new URL(baseUrl);
    this.base = base;
    this.federation.start(base.origin);
    for (const environment of this.environments) {
      const keys = this.keys.get(environment.name);
      if (keys !== undefined) this.started.set(environment.name, this.build(environment, keys, base));
    }
  }

  /** The environment's authorization server, once started. */
  active(environment: string): ActiveAuthorizationServer | undefined {
    return this.started.get(environment);
  }

  /** The public origin the servers were started for. */
  get publicOrigin(): string | undefined {
    return this.base?.origin;
  }

  /** The URL of an endpoint's protected-resource metadata (RFC 9728 §3.1, path inserted). */
  resourceMetadataUrl(environment: string, endpoint: ProtectedEndpoint): string {
    return `${this.base?.origin ?? ''}/.well-known/oauth-protected-resource/${environment}/${endpoint}`;
  }

  /**
   * The users of a reloaded configuration (`auth.users`; the demo login stays): sign-ins, refreshes
   * and every token check use them from now on. The number of users now, and the names of those
   * the configuration no longer has.
   */
  reloadUsers(config: Config): { users: number; removed: string[] } {
    const before = this.users.all().filter(user => user.origin !== 'federated');
    this.users.replace([...config.auth.users, ...this.extraUsers], config.auth.groups);
    const removed = before.filter(user => this.users.find(user.username) === undefined).map(user => user.username);
    return { users: this.users.size, removed };
  }

  /**
   * Reads the environments' keys again (after `sqlbridge rotate-keys`) and rebuilds the
   * authorization server of each whose keys changed, which then signs with the new key; tokens the
   * previous keys signed still verify. The environments whose keys changed.
   */
  async reloadKeys(names: readonly string[] = this.environments.map(env => env.name)): Promise<string[]> {
    const changed: string[] = [];
    for (const environment of this.environments) {
      if (!names.includes(environment.name)) continue;
      const keys = await loadOrCreateKeys(this.config.dataDir, environment.name, this.store.shared);
      const before = this.keys.get(environment.name);
      if (before !== undefined && JSON.stringify(before) === JSON.stringify(keys)) continue;
      this.keys.set(environment.name, keys);
      if (this.base !== undefined) this.started.set(environment.name, this.build(environment, keys, this.base));
      changed.push(environment.name);
    }
    if (changed.length > 0) this.logger.info({ environments: changed }, 'signing with the rotated keys');
    return changed;
  }

  /** Forgets what the environment's token verifiers cached of these grants (revoked by an administrator). */
  forgetGrants(environment: string, grantIds: readonly string[]): void {
    const verifiers = this.started.get(environment)?.verifiers;
    for (const endpoint of PROTECTED_ENDPOINTS) verifiers?.[endpoint].forgetGrants(grantIds);
  }

  async close(): Promise<void> {
    this.records.stopPolling();
    await this.store.close();
  }

  private build(environment: Environment, keys: EnvironmentKeys, base: URL): ActiveAuthorizationServer {
    const issuer = `${base.origin}/${environment.name}`;
    const resources = { mcp: `${issuer}/mcp`, sse: `${issuer}/sse` };
    const provider = createAuthorizationServer({
      environment: environment.name,
      issuer,
      resources: [resources.mcp, resources.sse],
      readOnly: environment.config.readOnly,
      auth: this.config.auth,
      signingKeys: keys.signing,
      cookieKeys: keys.cookies,
      secure: base.protocol === 'https:',
      store: this.store,
      users: this.users,
      refreshUser: async username => this.federation.refreshUser(username),
      logger: this.logger
    });
    recordProviderEvents(provider, environment.name, environment.audit);
    keepAdminRecords(provider, environment.name, { store: this.store, config: this.config, logger: this.logger });
    // Behind TLS-terminating proxies the scheme comes from X-Forwarded-Proto, which the mount sets itself.
    provider.proxy = base.protocol === 'https:';
    const verifier = (resource: string): AccessTokenVerifier =>
      new AccessTokenVerifier({
        environment: environment.name,
        issuer,
        resource,
        keys: publicKeys(keys.signing),
        store: this.store,
        users: this.users,
        grantCheckMs: this.config.auth.grantCheckMs
      });
    return {
      environment,
      issuer,
      resources,
      provider,
      callback: provider.callback(),
      verifiers: { mcp: verifier(resources.mcp), sse: verifier(resources.sse) },
      cookieSecret: keys.cookies[0] ?? ''
    };
  }
}
