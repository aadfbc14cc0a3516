import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ClusterMessage } from '../../src/cluster/cluster.ts';
import { RedisCluster } from '../../src/cluster/redis-cluster.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { deletePrefix, keysUnder, rawRedis, REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { tcpRelay } from '../helpers/tcp-relay.ts';

/**
 * The replicas' directory and messages on the real Redis at 127.0.0.1:6379 (which must be running):
 * three replicas on one prefix and a stranger on another.
 */

const prefix = uniquePrefix('cluster');
const otherPrefix = uniquePrefix('cluster-other');
const logger = createLogger('silent');
let client: Redis;
let a: RedisCluster;
let b: RedisCluster;
let c: RedisCluster;
let stranger: RedisCluster;

beforeAll(async () => {
  client = rawRedis();
  await client.connect();
  [a, b, c, stranger] = await Promise.all([
    RedisCluster.start(client, prefix, logger),
    RedisCluster.start(client, prefix, logger),
    RedisCluster.start(client, prefix, logger),
    RedisCluster.start(client, otherPrefix, logger)
  ]);
});

afterAll(async () => {
  await Promise.all([a, b, c, stranger].map(async cluster => cluster.close()));
  client.disconnect();
  await Promise.all([deletePrefix(prefix), deletePrefix(otherPrefix)]);
});

/** What a replica received of one type, as it arrives. */
function inbox(cluster: RedisCluster, type: ClusterMessage['type']): ClusterMessage[] {
  const received: ClusterMessage[] = [];
  cluster.on(type, message => received.push(message));
  return received;
}

async function until(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('never happened');
    await new Promise(resolve => setTimeout(resolve, 10));
  }
}

it('finds a session any replica registered, under its holder, until it is unregistered', async () => {
  await a.register('session-1', { kind: 'mcp', environment: 'pg', owner: 'client\u0000alice' }, 60_000);
  expect(await b.lookup('session-1')).toEqual({
    kind: 'mcp',
    environment: 'pg',
    owner: 'client\u0000alice',
    replica: a.replicaId
  });
  expect(await stranger.lookup('session-1')).toBeUndefined();
  expect(await b.lookup('session-2')).toBeUndefined();
  // The id itself is never a key.
  const keys = await keysUnder(client, prefix);
  expect(keys.some(key => key.includes('session-1'))).toBe(false);
  await b.unregister('session-1');
  expect(await a.lookup('session-1')).toBeUndefined();
});

it('forgets a session after its time to live, unless a lookup that uses it restarts that time', async () => {
  await a.register('short', { kind: 'sse', environment: 'pg', owner: 'o' }, 400);
  await a.register('used', { kind: 'sse', environment: 'pg', owner: 'o' }, 400);
  for (let i = 0; i < 4; i++) {
    await new Promise(resolve => setTimeout(resolve, 150));
    expect(await b.lookup('used', 400)).toBeDefined();
  }
  expect(await b.lookup('short')).toBeUndefined();
  expect(await b.lookup('used')).toBeDefined();
});

it('delivers to the one replica named, and says when no replica listens there', async () => {
  const atA = inbox(a, 'session.closed');
  const atB = inbox(b, 'session.closed');
  const message: ClusterMessage = { type: 'session.closed', sessionId: 's', owner: 'o' };
  expect(await c.send(a.replicaId, message)).toBe(true);
  await until(() => atA.length === 1);
  expect(atA[0]).toEqual(message);
  expect(await c.send('a-replica-that-died', message)).toBe(false);
  await new Promise(resolve => setTimeout(resolve, 100));
  expect(atA).toHaveLength(1);
  expect(atB).toHaveLength(0);
});

it('broadcasts to every other replica on the prefix, not to the sender nor to another prefix', async () => {
  const got = [a, b, c, stranger].map(cluster => inbox(cluster, 'config.reloaded'));
  await a.broadcast({ type: 'config.reloaded' });
  await until(() => got[1]?.length === 1 && got[2]?.length === 1);
  await new Promise(resolve => setTimeout(resolve, 100));
  expect(got.map(list => list.length)).toEqual([0, 1, 1, 0]);
});

it('stops receiving once closed', async () => {
  const closing = await RedisCluster.start(client, prefix, logger);
  const id = closing.replicaId;
  await closing.close();
  expect(await a.send(id, { type: 'config.reloaded' })).toBe(false);
});

it('tells a replica whose connection broke to read again what it missed, once it listens again, and only then', async () => {
  const target = new URL(REDIS_URL);
  const relay = await tcpRelay(target.hostname, target.port === '' ? 6379 : Number(target.port));
  // Reconnecting as the store's client does once started (redis-store.ts).
  const viaRelay = new Redis({
    host: '127.0.0.1',
    port: relay.port,
    db: Number(target.pathname.slice(1) || '0'),
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => 100
  });
  viaRelay.on('error', () => undefined);
  await viaRelay.connect();
  const d = await RedisCluster.start(viaRelay, prefix, logger);
  try {
    let resyncs = 0;
    d.onResync(() => resyncs++);
    const got = inbox(d, 'users.changed');
    await a.broadcast({ type: 'users.changed' });
    await until(() => got.length === 1);
    expect(resyncs).toBe(0);

    relay.cut();
    await a.broadcast({ type: 'users.changed' });
    await new Promise(resolve => setTimeout(resolve, 400));
    // Missed, and nothing said so yet: the replica is not listening.
    expect(got).toHaveLength(1);
    expect(resyncs).toBe(0);

    relay.restore();
    await until(() => resyncs === 1, 5000);
    // Listening again by the time it is told: what is sent now arrives.
    await a.broadcast({ type: 'users.changed' });
    await until(() => got.length === 2);
    await new Promise(resolve => setTimeout(resolve, 200));
    expect(resyncs).toBe(1);
  } finally {
    await d.close();
    viaRelay.disconnect();
    relay.close();
  }
});
