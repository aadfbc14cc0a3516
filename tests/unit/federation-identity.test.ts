import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/audit/record.ts';
import { AuditTrail } from '../../src/audit/trail.ts';
import { saveAccount } from '../../src/auth/federation/account-update.ts';
import type { FederationContext } from '../../src/auth/federation/federation-context.ts';
import { resolveIdentity } from '../../src/auth/federation/identity.ts';
import { SignInStates } from '../../src/auth/federation/sign-in-state.ts';
import { UpstreamProviders, type UpstreamProviderConfig } from '../../src/auth/federation/upstream-providers.ts';
import { UserRecords } from '../../src/auth/server/user-records.ts';
import { UserDirectory, type User } from '../../src/auth/server/users.ts';
import { HashedStore } from '../../src/auth/storage/hashed-store.ts';
import { KeyedHash } from '../../src/auth/storage/keyed-hash.ts';
import { MemoryStore } from '../../src/auth/storage/memory-store.ts';
import { standaloneCluster } from '../../src/cluster/cluster.ts';
import { createLogger } from '../../src/observability/logger.ts';

const ISSUER = 'https://login.example.com/tenant';

function providerConfig(over: Partial<UpstreamProviderConfig> = {}): UpstreamProviderConfig {
  return {
    id: 'corp',
    name: 'Corp',
    issuer: ISSUER,
    clientId: 'sqlbridge',
    scopes: ['openid', 'profile', 'email'],
    groupsClaim: 'groups',
    groupMap: { 'corp-analysts': 'analysts' },
    acceptUnmappedGroups: false,
    userinfo: false,
    keepRefreshToken: true,
    environments: ['*'],
    ...over,
    justInTime: {
      enabled: false,
      groups: ['everyone'],
      environments: ['demo'],
      scopes: ['sql:read'],
      ...over.justInTime
    }
  };
}

const ana: User = {
  username: 'ana',
  email: 'Ana@Example.com',
  environments: ['demo'],
  scopes: ['sql:read'],
  disabled: false,
  attributes: {},
  groups: ['staff'],
  identities: [{ provider: 'corp', subject: 'ana-sub' }]
};
const bob: User = {
  username: 'bob',
  email: 'bob@example.com',
  environments: ['demo'],
  scopes: ['sql:read'],
  disabled: false,
  attributes: {}
};

function setup(provider = providerConfig()) {
  const logger = createLogger('silent');
  const store = new HashedStore(new MemoryStore(), new KeyedHash(randomBytes(32)));
  const users = new UserDirectory([ana, bob], {
    analysts: { environments: ['analytics'], scopes: ['sql:write'] },
    everyone: { environments: [], scopes: [] }
  });
  const records = new UserRecords(store, standaloneCluster(), users, logger);
  const audit = new AuditTrail([], { flushIntervalMs: 60_000, maxPending: 100, logger });
  const recorded: AuditRecord[] = [];
  audit.onRecord(record => recorded.push(record));
  const context: FederationContext = {
    providers: new UpstreamProviders([provider], logger),
    states: new SignInStates(store),
    users,
    records,
    logger,
    audit,
    origin: () => 'https://sqlbridge.example.com',
    secure: () => true,
    adminHandler: () => undefined
  };
  return { context, users, records, recorded, store };
}

const input = (provider: UpstreamProviderConfig, subject: string, claims: Record<string, unknown> = {}) => ({
  provider,
  issuer: ISSUER,
  subject,
  claims: { sub: subject, ...claims },
  groups: ['analysts']
});

describe('federated identity', () => {
  it('signs a linked account in as the configured user, whatever e-mail the provider sends', async () => {
    const { users, records } = setup();
    const result = await resolveIdentity(
      users,
      records,
      input(providerConfig(), 'ana-sub', { email: 'bob@example.com' })
    );
    expect(result).toMatchObject({ ok: true, created: false, user: { username: 'ana' } });
  });

  it('refuses an unknown account when just-in-time users are off (the default)', async () => {
    const { users, records } = setup();
    const result = await resolveIdentity(
      users,
      records,
      input(providerConfig(), 'stranger', { email: 'x@example.com' })
    );
    expect(result).toEqual({ ok: false, errorClass: 'not_linked' });
  });

  it('never takes over a local user by e-mail: the same address is refused, not merged (case-insensitive)', async () => {
    const jit = providerConfig({
      justInTime: { enabled: true, groups: [], environments: ['demo'], scopes: ['sql:read'] }
    });
    const { users, records } = setup(jit);
    for (const email of ['ana@example.com', 'ANA@EXAMPLE.COM', 'bob@Example.com']) {
      expect(await resolveIdentity(users, records, input(jit, 'attacker', { email }))).toEqual({
        ok: false,
        errorClass: 'email_in_use'
      });
    }
    // A user name that is an address counts too.
    users.replace([
      ...users.all().filter(u => u.origin === 'config'),
      { ...bob, username: 'carol@example.com', email: undefined }
    ]);
    expect(await resolveIdentity(users, records, input(jit, 'attacker', { email: 'Carol@example.com' }))).toEqual({
      ok: false,
      errorClass: 'email_in_use'
    });
  });

  it('creates a just-in-time user named <provider>:<subject> with the configured defaults, then finds it again', async () => {
    const jit = providerConfig({
      justInTime: { enabled: true, groups: ['everyone'], environments: ['demo'], scopes: ['sql:read'] }
    });
    const { context, users, records, recorded } = setup(jit);
    const first = await resolveIdentity(
      users,
      records,
      input(jit, 'new-sub', { email: 'new@example.com', name: 'New' })
    );
    expect(first).toMatchObject({ ok: true, created: true, user: { username: 'corp:new-sub', groups: ['everyone'] } });
    if (!first.ok) throw new Error('not created');
    await saveAccount(context, {
      user: first.user,
      created: true,
      provider: jit,
      issuer: ISSUER,
      subject: 'new-sub',
      groups: ['analysts'],
      refreshToken: 'upstream-refresh-token-value'
    });
    const found = users.find('corp:new-sub');
    // The defaults, then the provider's mapped groups, which add what auth.groups gives them.
    expect(found?.groups).toEqual(['everyone', 'analysts']);
    expect(found?.environments).toEqual(expect.arrayContaining(['demo', 'analytics']));
    expect(recorded.map(r => r.event)).toEqual(['user.created']);
    expect(recorded[0]).toMatchObject({ user: 'corp:new-sub', detail: { provider: 'corp' } });
    const again = await resolveIdentity(users, records, input(jit, 'new-sub', { email: 'new@example.com' }));
    expect(again).toMatchObject({ ok: true, created: false, user: { username: 'corp:new-sub' } });
    // The provider's refresh token is kept sealed, never in clear.
    const row = await records.row('corp:new-sub');
    expect(row?.upstreamRefreshToken).toBeDefined();
    expect(JSON.stringify(row)).not.toContain('upstream-refresh-token-value');
    expect(await records.upstreamToken('corp:new-sub')).toBe('upstream-refresh-token-value');
  });

  it('does not reuse a just-in-time user created under another issuer', async () => {
    const jit = providerConfig({
      justInTime: { enabled: true, groups: [], environments: ['demo'], scopes: ['sql:read'] }
    });
    const { users, records } = setup(jit);
    await records.update('corp:old-sub', () => ({
      user: { ...bob, username: 'corp:old-sub', email: undefined, origin: 'federated' },
      issuer: 'https://old-tenant.example.com',
      provider: 'corp',
      subject: 'old-sub'
    }));
    expect(await resolveIdentity(users, records, input(jit, 'old-sub'))).toEqual({
      ok: false,
      errorClass: 'issuer_changed'
    });
  });

  it('refuses a disabled linked user', async () => {
    const { users, records } = setup();
    await records.setDisabled('ana', true, 'admin');
    expect(await resolveIdentity(users, records, input(providerConfig(), 'ana-sub'))).toEqual({
      ok: false,
      errorClass: 'user_not_allowed'
    });
  });

  it('adds a linked user’s provider groups after their configured ones, and audits a change', async () => {
    const { context, users, recorded } = setup();
    const save = (groups: string[]) =>
      saveAccount(context, {
        user: users.find('ana') as User,
        created: false,
        provider: providerConfig(),
        issuer: ISSUER,
        subject: 'ana-sub',
        groups,
        refreshToken: undefined
      });
    await save(['analysts']);
    expect(users.find('ana')?.groups).toEqual(['staff', 'analysts']);
    expect(users.allowed('ana', 'analytics')).toBeDefined();
    expect(recorded).toHaveLength(0);
    await save([]);
    expect(users.find('ana')?.groups).toEqual(['staff']);
    // Removed from the group upstream: the environment it gave is gone at once.
    expect(users.allowed('ana', 'analytics')).toBeUndefined();
    expect(recorded.map(r => r.event)).toEqual(['user.groups_changed']);
    expect(recorded[0]?.detail).toMatchObject({ before: 'analysts', after: '' });
  });
});
