import type { Cluster } from '../cluster/cluster.ts';
import { holderOf } from './legacy-sessions.ts';
import { deliverRelayed } from './sse-relay.ts';
import type { SseSession } from './sse-session.ts';

/**
 * The open HTTP+SSE streams of every environment, capped in total and per user, so that old
 * clients holding streams open cannot take every connection the server has. Each is in the
 * cluster's directory while it is open, so that a message posted through another replica reaches
 * it (sse-relay.ts); an entry whose replica died expires by itself.
 */

/** How long a stream's directory entry lives unless its replica records it again (every third of this). */
export const STREAM_ENTRY_TTL_MS = 180_000;

export interface LegacySseLimits {
  maxStreams: number;
  maxStreamsPerUser: number;
}

export interface StreamRefusal {
  status: 429 | 503;
  message: string;
}

export class LegacySseSessions {
  private readonly limits: LegacySseLimits;
  private readonly byId = new Map<string, SseSession>();
  /** Streams per holder: a user whichever client they use, an address without OAuth. */
  private readonly perHolder = new Map<string, number>();
  readonly cluster: Cluster;
  private readonly refresher: NodeJS.Timeout | undefined;

  constructor(limits: LegacySseLimits, cluster: Cluster) {
    this.limits = limits;
    this.cluster = cluster;
    if (cluster.shared) {
      this.refresher = setInterval(() => {
        for (const session of this.byId.values()) this.register(session);
      }, STREAM_ENTRY_TTL_MS / 3);
      this.refresher.unref();
      cluster.on('sse.messages', message => {
        const session = this.byId.get(message.sessionId);
        if (session?.owner === message.owner) deliverRelayed(session, message);
      });
    }
  }

  get size(): number {
    return this.byId.size;
  }

  /** Why a new stream for this holder (see holderOfStream) is refused, or undefined when it may open. */
  refusal(holder: string): StreamRefusal | undefined {
    if ((this.perHolder.get(holder) ?? 0) >= this.limits.maxStreamsPerUser) {
      return {
        status: 429,
        message: `Too many open event streams: you already hold ${this.limits.maxStreamsPerUser} (server.legacySse.maxStreamsPerUser); close one first`
      };
    }
    if (this.byId.size >= this.limits.maxStreams) {
      return {
        status: 503,
        message: `The server holds its maximum of ${this.limits.maxStreams} open event streams (server.legacySse.maxStreams); try again later or use Streamable HTTP (/<environment>/mcp)`
      };
    }
    return undefined;
  }

  add(session: SseSession): void {
    this.byId.set(session.sessionId, session);
    const holder = holderOfStream(session);
    this.perHolder.set(holder, (this.perHolder.get(holder) ?? 0) + 1);
    this.register(session);
  }

  remove(session: SseSession): void {
    if (!this.byId.delete(session.sessionId)) return;
    if (this.cluster.shared) void this.cluster.unregister(session.sessionId).catch(() => undefined);
    const holder = holderOfStream(session);
    const count = (this.perHolder.get(holder) ?? 1) - 1;
    if (count > 0) this.perHolder.set(holder, count);
    else this.perHolder.delete(holder);
  }

  get(sessionId: string): SseSession | undefined {
    return this.byId.get(sessionId);
  }

  /** Ends the streams of one environment. */
  async close(environment: string): Promise<void> {
    const sessions = [...this.byId.values()].filter(session => session.environment === environment);
    await Promise.allSettled(sessions.map(session => session.close()));
  }

  private register(session: SseSession): void {
    if (!this.cluster.shared) return;
    const entry = { kind: 'sse' as const, environment: session.environment, owner: session.owner };
    void this.cluster.register(session.sessionId, entry, STREAM_ENTRY_TTL_MS).catch(() => undefined);
  }
}

/** Whom a stream counts against for `maxStreamsPerUser`: its user whichever client they use; without OAuth, its owner (the address). */
export function holderOfStream(session: Pick<SseSession, 'owner' | 'auth'>): string {
  return session.auth === undefined ? session.owner : holderOf(session.auth);
}
