import { randomUUID } from 'node:crypto';

/**
 * What replicas of one deployment tell each other, and the sessions they hold, so that any replica
 * can serve any request: a 2025 client's `Mcp-Session-Id` opened on one replica and used on another,
 * a message posted to `/messages` for an event stream another replica holds, a configuration reload.
 * In Redis (`redis-cluster.ts`, with `auth.storage: redis://…`) it is shared; a single process has
 * no one to tell (`STANDALONE`).
 */

/** A session one replica holds, as the others find it. */
export interface SessionEntry {
  /** `mcp`: a 2025 Streamable HTTP session; `sse`: a legacy HTTP+SSE event stream. */
  kind: 'mcp' | 'sse';
  environment: string;
  /** Who opened it (transports' `ownerOf`): only they may use it. */
  owner: string;
  /** The replica holding it. */
  replica: string;
}

/** The verified caller of a relayed message, without the token itself (which never leaves the replica it reached). */
export interface RelayedAuth {
  clientId: string;
  scopes: string[];
  expiresAt?: number;
  resource?: string;
  extra?: Record<string, unknown>;
}

export type ClusterMessage =
  /** Messages posted through one replica to an event stream another holds. */
  | {
      type: 'sse.messages';
      sessionId: string;
      owner: string;
      messages: unknown[];
      auth?: RelayedAuth;
      origin: { requestId: string; remoteAddress: string };
    }
  /** A client ended (DELETE) a session through another replica than the one holding it. */
  | { type: 'session.closed'; sessionId: string; owner: string }
  /** A replica reloaded its configuration: the others reload theirs. */
  | { type: 'config.reloaded' }
  /** `sqlbridge rotate-keys` replaced the signing keys kept in Redis: every replica signs with the new one. */
  | { type: 'keys.rotated'; environments: string[] }
  /** A user was created, changed or disabled in the OAuth store (user-records.ts): every replica reads the users again. */
  | { type: 'users.changed' }
  /** An administrator revoked grants or deleted a client: every replica forgets what it remembered of them at once. */
  | { type: 'grants.revoked'; environment: string; grantIds: string[] };

export type ClusterMessageOf<T extends ClusterMessage['type']> = Extract<ClusterMessage, { type: T }>;

export interface Cluster {
  /** This process's name among the replicas (random per start). */
  readonly replicaId: string;
  /** Whether other replicas can exist (false: a single process, every call below is a no-op). */
  readonly shared: boolean;
  /** Records a session this replica holds, for `ttlMs` unless recorded again. */
  register(sessionId: string, entry: Omit<SessionEntry, 'replica'>, ttlMs: number): Promise<void>;
  /** The session's entry; `refreshTtlMs` restarts its expiry (it is being used). */
  lookup(sessionId: string, refreshTtlMs?: number): Promise<SessionEntry | undefined>;
  unregister(sessionId: string): Promise<void>;
  /** Delivers to one replica; false when it is not listening (it stopped or died). */
  send(replica: string, message: ClusterMessage): Promise<boolean>;
  /** Delivers to every other replica. */
  broadcast(message: ClusterMessage): Promise<void>;
  /** Handles what other replicas send of one type. */
  on<T extends ClusterMessage['type']>(type: T, handler: (message: ClusterMessageOf<T>) => void): void;
  /**
   * Handles the moments this replica may have missed messages: it stopped hearing the others (its
   * connection to them broke) and hears them again. Messages are not kept for a replica that is not
   * listening, so whoever acts on a broadcast reads again what it would have said: users, signing
   * keys, the configuration.
   */
  onResync(handler: () => void): void;
  close(): Promise<void>;
}

/** One process alone. */
export function standaloneCluster(): Cluster {
  return {
    replicaId: randomUUID(),
    shared: false,
    register: async () => undefined,
    lookup: async () => undefined,
    unregister: async () => undefined,
    send: async () => false,
    broadcast: async () => undefined,
    on: () => undefined,
    onResync: () => undefined,
    close: async () => undefined
  };
}
