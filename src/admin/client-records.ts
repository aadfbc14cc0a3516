import type { Logger } from '../observability/logger.ts';
import type { AuthStore } from '../auth/storage/store.ts';

/**
 * What administration knows of the clients of one environment. oidc-provider's own Client rows are
 * kept under hashed ids (hashed-store.ts) and cannot be listed, so each client that registers,
 * authorizes through a Client ID Metadata Document or obtains tokens gets a record of its own, under
 * its client id (model `SqlbridgeClientRecord`, a plain model): its name, the hosts it redirects to,
 * how it came to be known and when it was last used. A record lives as long as an idle registered
 * client does (`auth.clientIdleDays` after its last use, client-expiry.ts); `lastUsedAt` is written
 * at most once a minute per client, so a busy client costs one write a minute, not one per token.
 */

export const CLIENT_RECORD_MODEL = 'SqlbridgeClientRecord';

export type ClientKind = 'static' | 'dynamic' | 'metadata-document';

export interface ClientRecord {
  clientId: string;
  name?: string;
  redirectHosts: string[];
  kind: ClientKind;
  /** Epoch ms: registration (dynamic) or first authorization (metadata document). */
  registeredAt?: number;
  lastUsedAt?: number;
}

/** The client as oidc-provider hands it to its events. */
export interface ProviderClient {
  clientId: string;
  clientName?: string | undefined;
  redirectUris?: readonly string[] | undefined;
}

/** How often a client's last use is written, at most. */
const LAST_USE_WRITE_MS = 60_000;
/** Clients whose last write is remembered; beyond, the memory is cleared (a few extra writes). */
const MAX_REMEMBERED = 100_000;

export class ClientRecords {
  private readonly store: AuthStore;
  private readonly environment: string;
  private readonly idleSeconds: number;
  private readonly staticClients: ReadonlySet<string>;
  private readonly now: () => number;
  private readonly lastWrite = new Map<string, number>();

  constructor(options: {
    store: AuthStore;
    environment: string;
    idleDays: number;
    staticClients: Iterable<string>;
    now?: () => number;
  }) {
    this.store = options.store;
    this.environment = options.environment;
    this.idleSeconds = options.idleDays * 86_400;
    this.staticClients = new Set(options.staticClients);
    this.now = options.now ?? Date.now;
  }

  /** A client registered through `/register`. */
  async registered(client: ProviderClient): Promise<void> {
    // Its first use (the authorization that follows) is written in full: not marked as written here.
    await this.save({ ...describe(client), kind: 'dynamic', registeredAt: this.now() });
  }

  /**
   * A client authorized or obtained tokens: its record is created when there is none yet (a metadata
   * document client's first authorization, a client registered before records were kept), and its
   * last use written when the previous write is older than a minute.
   */
  async used(client: ProviderClient): Promise<void> {
    const now = this.now();
    const last = this.lastWrite.get(client.clientId);
    if (last !== undefined && now - last < LAST_USE_WRITE_MS) return;
    if (this.lastWrite.size >= MAX_REMEMBERED) this.lastWrite.clear();
    this.lastWrite.set(client.clientId, now);
    const existing = await this.find(client.clientId);
    const kind = this.kindOf(client.clientId);
    await this.save({
      ...describe(client),
      kind,
      ...(existing?.registeredAt === undefined
        ? kind === 'static'
          ? {}
          : { registeredAt: now }
        : { registeredAt: existing.registeredAt }),
      lastUsedAt: now
    });
  }

  async find(clientId: string): Promise<ClientRecord | undefined> {
    return (await this.store.adapter(this.environment, CLIENT_RECORD_MODEL).find(clientId)) as ClientRecord | undefined;
  }

  async list(): Promise<ClientRecord[]> {
    const rows = await this.store.list(this.environment, CLIENT_RECORD_MODEL);
    return rows.map(row => row.payload as unknown as ClientRecord);
  }

  async remove(clientId: string): Promise<void> {
    this.lastWrite.delete(clientId);
    await this.store.adapter(this.environment, CLIENT_RECORD_MODEL).destroy(clientId);
  }

  private kindOf(clientId: string): ClientKind {
    if (this.staticClients.has(clientId)) return 'static';
    return clientId.startsWith('https://') ? 'metadata-document' : 'dynamic';
  }

  private async save(record: ClientRecord): Promise<void> {
    await this.store
      .adapter(this.environment, CLIENT_RECORD_MODEL)
      .upsert(record.clientId, { ...record }, this.idleSeconds);
  }
}

function describe(client: ProviderClient): Pick<ClientRecord, 'clientId' | 'name' | 'redirectHosts'> {
  return {
    clientId: client.clientId,
    ...(client.clientName === undefined ? {} : { name: client.clientName.slice(0, 200) }),
    redirectHosts: redirectHosts(client.redirectUris ?? [])
  };
}

/** The distinct hosts (with port) of a client's redirect URIs; custom schemes by their scheme. */
export function redirectHosts(uris: readonly string[]): string[] {
  const hosts = new Set<string>();
  for (const uri of uris) {
    try {
      const url = new URL(uri);
      hosts.add(url.host === '' ? url.protocol : url.host);
    } catch {
      // Registration validated them; a value that no longer parses is not shown.
    }
  }
  return [...hosts];
}

/** Runs a record write off the request path; a failure is logged, never turned into a failed request. */
export function inBackground(logger: Logger, what: string, write: () => Promise<void>): void {
  write().catch((error: unknown) => logger.error({ err: error }, `the ${what} could not be recorded`));
}
