import type { SseSession } from './sse-session.ts';

/**
 * The open HTTP+SSE streams of every environment, capped in total and per user, so that old
 * clients holding streams open cannot take every connection the server has.
 */

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
  private readonly perOwner = new Map<string, number>();

  constructor(limits: LegacySseLimits) {
    this.limits = limits;
  }

  get size(): number {
    return this.byId.size;
  }

  /** Why a new stream for this owner is refused, or undefined when it may open. */
  refusal(owner: string): StreamRefusal | undefined {
    if ((this.perOwner.get(owner) ?? 0) >= this.limits.maxStreamsPerUser) {
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
    this.perOwner.set(session.owner, (this.perOwner.get(session.owner) ?? 0) + 1);
  }

  remove(session: SseSession): void {
    if (!this.byId.delete(session.sessionId)) return;
    const count = (this.perOwner.get(session.owner) ?? 1) - 1;
    if (count > 0) this.perOwner.set(session.owner, count);
    else this.perOwner.delete(session.owner);
  }

  get(sessionId: string): SseSession | undefined {
    return this.byId.get(sessionId);
  }

  /** Ends the streams of one environment. */
  async close(environment: string): Promise<void> {
    const sessions = [...this.byId.values()].filter(session => session.environment === environment);
    await Promise.allSettled(sessions.map(session => session.close()));
  }
}
