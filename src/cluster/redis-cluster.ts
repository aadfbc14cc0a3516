import { createHash, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../observability/logger.ts';
import type { Cluster, ClusterMessage, ClusterMessageOf, SessionEntry } from './cluster.ts';

/**
 * Replicas sharing one Redis: sessions are keys `<prefix>:cluster:session:<sha256 of the id>` (a
 * session id never appears in Redis as such) that expire unless their replica records them again,
 * and messages travel by pub/sub, on `<prefix>:cluster:replica:<replica id>` to one replica and on
 * `<prefix>:cluster:all` to all. Pub/sub delivers to whoever listens now and keeps nothing, which
 * is what these messages need: one for a replica that is gone has no one to act on it, and the
 * sender learns so (PUBLISH answers how many received it). A replica whose subscriber connection
 * broke is told to read again what it may have missed (`onResync`) once it listens again.
 */

export class RedisCluster implements Cluster {
  readonly replicaId = randomUUID();
  readonly shared = true;
  private readonly client: Redis;
  private readonly subscriber: Redis;
  private readonly prefix: string;
  private readonly logger: Logger;
  private readonly handlers = new Map<string, ((message: never) => void)[]>();
  private readonly resyncHandlers: (() => void)[] = [];
  /** Set once the first subscription is made: each `ready` after that is a reconnection. */
  private listening = false;

  private constructor(client: Redis, subscriber: Redis, prefix: string, logger: Logger) {
    this.client = client;
    this.subscriber = subscriber;
    this.prefix = prefix;
    this.logger = logger;
  }

  /** Listens on this replica's channel and the common one; `client` stays the caller's. */
  static async start(client: Redis, prefix: string, logger: Logger): Promise<RedisCluster> {
    // A connection in subscriber mode runs no other command: it is a connection of its own.
    const subscriber = client.duplicate();
    subscriber.on('error', (error: Error) => {
      logger.debug({ err: error }, 'Redis subscriber connection error');
    });
    const cluster = new RedisCluster(client, subscriber, prefix, logger);
    subscriber.on('message', (channel: string, text: string) => {
      cluster.receive(channel, text);
    });
    subscriber.on('ready', () => {
      if (cluster.listening) void cluster.resync();
    });
    try {
      if (subscriber.status === 'wait') await subscriber.connect();
      await cluster.subscribe();
    } catch (error) {
      subscriber.disconnect();
      throw error;
    }
    cluster.listening = true;
    return cluster;
  }

  async register(sessionId: string, entry: Omit<SessionEntry, 'replica'>, ttlMs: number): Promise<void> {
    const value: SessionEntry = { ...entry, replica: this.replicaId };
    await this.client.set(this.sessionKey(sessionId), JSON.stringify(value), 'PX', Math.max(1, Math.ceil(ttlMs)));
  }

  async lookup(sessionId: string, refreshTtlMs?: number): Promise<SessionEntry | undefined> {
    const key = this.sessionKey(sessionId);
    const text =
      refreshTtlMs === undefined
        ? await this.client.get(key)
        : await this.client.getex(key, 'PX', Math.max(1, Math.ceil(refreshTtlMs)));
    if (text === null) return undefined;
    const entry = JSON.parse(text) as Partial<SessionEntry>;
    if (
      (entry.kind !== 'mcp' && entry.kind !== 'sse') ||
      typeof entry.environment !== 'string' ||
      typeof entry.owner !== 'string' ||
      typeof entry.replica !== 'string'
    ) {
      return undefined;
    }
    return entry as SessionEntry;
  }

  async unregister(sessionId: string): Promise<void> {
    await this.client.del(this.sessionKey(sessionId));
  }

  async send(replica: string, message: ClusterMessage): Promise<boolean> {
    const receivers = await this.client.publish(this.channel(replica), this.envelope(message));
    return receivers > 0;
  }

  async broadcast(message: ClusterMessage): Promise<void> {
    await this.client.publish(this.channel('all'), this.envelope(message));
  }

  on<T extends ClusterMessage['type']>(type: T, handler: (message: ClusterMessageOf<T>) => void): void {
    const list = this.handlers.get(type) ?? [];
    list.push(handler);
    this.handlers.set(type, list);
  }

  onResync(handler: () => void): void {
    this.resyncHandlers.push(handler);
  }

  async close(): Promise<void> {
    this.listening = false;
    if (this.subscriber.status === 'end') return;
    try {
      await this.subscriber.quit();
    } catch {
      this.subscriber.disconnect();
    }
  }

  private async subscribe(): Promise<void> {
    await this.subscriber.subscribe(this.channel(this.replicaId), this.channel('all'));
  }

  /**
   * After a reconnection: once subscribed again (ioredis resubscribes by itself; subscribing here
   * too waits until that is done, so that nothing sent from now on is missed), the handlers read again
   * what the messages sent meanwhile would have told them.
   */
  private async resync(): Promise<void> {
    try {
      await this.subscribe();
    } catch (error) {
      // The connection broke again: its next `ready` tries again.
      this.logger.debug({ err: error }, 'Redis subscriber could not subscribe again');
      return;
    }
    this.logger.warn(
      'the connection to the other replicas was interrupted: reading users, signing keys and the configuration again'
    );
    for (const handler of this.resyncHandlers) {
      try {
        handler();
      } catch (error) {
        this.logger.error({ err: error }, 'a resynchronisation could not be handled');
      }
    }
  }

  private receive(channel: string, text: string): void {
    let envelope: { from?: unknown; message?: { type?: unknown } };
    try {
      envelope = JSON.parse(text) as typeof envelope;
    } catch {
      this.logger.warn({ channel }, 'a cluster message that is not JSON was ignored');
      return;
    }
    // A broadcast reaches its sender too.
    if (envelope.from === this.replicaId) return;
    const type = envelope.message?.type;
    const handlers = typeof type === 'string' ? this.handlers.get(type) : undefined;
    if (handlers === undefined) return;
    for (const handler of handlers) {
      try {
        handler(envelope.message as never);
      } catch (error) {
        this.logger.error({ err: error, type }, 'a cluster message could not be handled');
      }
    }
  }

  private envelope(message: ClusterMessage): string {
    return JSON.stringify({ from: this.replicaId, message });
  }

  private channel(name: string): string {
    return `${this.prefix}:cluster:${name === 'all' ? 'all' : `replica:${name}`}`;
  }

  private sessionKey(sessionId: string): string {
    return `${this.prefix}:cluster:session:${createHash('sha256').update(sessionId).digest('base64url')}`;
  }
}
