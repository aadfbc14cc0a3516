import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { UserRecords } from '../../src/auth/server/user-records.ts';
import { UserDirectory, type User } from '../../src/auth/server/users.ts';
import { HashedStore } from '../../src/auth/storage/hashed-store.ts';
import { KeyedHash } from '../../src/auth/storage/keyed-hash.ts';
import { MemoryStore } from '../../src/auth/storage/memory-store.ts';
import { standaloneCluster } from '../../src/cluster/cluster.ts';
import { createLogger } from '../../src/observability/logger.ts';

/**
 * A single process (no Redis) whose store another process changes — `sqlbridge admin users disable`
 * writing to the same SQLite file — reads the users again on its own, within the grant-check window.
 */

const ana: User = { username: 'ana', environments: ['*'], scopes: ['sql:read'], disabled: false, attributes: {} };

afterEach(() => {
  vi.useRealTimers();
});

describe('user records in a single process', () => {
  it('notice a user disabled by another process at the next poll, and stop polling when told', async () => {
    vi.useFakeTimers();
    const store = new HashedStore(new MemoryStore(), new KeyedHash(randomBytes(32)));
    const logger = createLogger('silent');
    const served = new UserDirectory([ana]);
    const server = new UserRecords(store, standaloneCluster(), served, logger);
    const cli = new UserRecords(store, standaloneCluster(), new UserDirectory([ana]), logger);
    server.startPolling(1500);

    await cli.setDisabled('ana', true, 'admin');
    expect(served.allowed('ana', 'demo')).toBeDefined();
    await vi.advanceTimersByTimeAsync(1500);
    expect(served.allowed('ana', 'demo')).toBeUndefined();

    server.stopPolling();
    await cli.setDisabled('ana', false, 'admin');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(served.allowed('ana', 'demo')).toBeUndefined();
  });

  it('poll at least every second, however small grantCheckMs is', async () => {
    vi.useFakeTimers();
    const store = new HashedStore(new MemoryStore(), new KeyedHash(randomBytes(32)));
    const logger = createLogger('silent');
    const served = new UserDirectory([ana]);
    const server = new UserRecords(store, standaloneCluster(), served, logger);
    const cli = new UserRecords(store, standaloneCluster(), new UserDirectory([ana]), logger);
    server.startPolling(0);
    await cli.setDisabled('ana', true, 'admin');
    await vi.advanceTimersByTimeAsync(999);
    expect(served.allowed('ana', 'demo')).toBeDefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(served.allowed('ana', 'demo')).toBeUndefined();
    server.stopPolling();
  });

  it('add the groups a provider reported to a configured user, as read from the store', async () => {
    const store = new HashedStore(new MemoryStore(), new KeyedHash(randomBytes(32)));
    const served = new UserDirectory([{ ...ana, groups: ['staff'] }], {
      analysts: { environments: ['analytics'], scopes: ['sql:write'] }
    });
    const records = new UserRecords(store, standaloneCluster(), served, createLogger('silent'));
    await records.update('ana', row => ({ ...row, upstreamGroups: ['analysts', 'staff'] }));
    expect(served.find('ana')).toMatchObject({ groups: ['staff', 'analysts'], scopes: ['sql:read', 'sql:write'] });
    await records.update('ana', row => ({ ...row, upstreamGroups: [] }));
    expect(served.find('ana')).toMatchObject({ groups: ['staff'], scopes: ['sql:read'] });
  });
});
