import { describe, expect, it } from 'vitest';
import { claimAt, groupOverage, mapGroups, providerGroups, rawGroups } from '../../src/auth/federation/group-claims.ts';

const provider = (over: Partial<Parameters<typeof providerGroups>[0]> = {}) => ({
  groupsClaim: 'groups',
  groupMap: { 'corp-analysts': 'analysts', '5f1c0d2e-8a4b-4e57-9c1d-0b6a7e3f2a11': 'finance' },
  acceptUnmappedGroups: false,
  ...over
});

describe('group claims', () => {
  it('reads a dotted path into nested claims (Keycloak realm_access.roles)', () => {
    const claims = { realm_access: { roles: ['reader', 'writer'] } };
    expect(claimAt(claims, 'realm_access.roles')).toEqual(['reader', 'writer']);
    expect(rawGroups(claims, 'realm_access.roles')).toEqual(['reader', 'writer']);
    expect(claimAt(claims, 'realm_access.missing')).toBeUndefined();
    expect(claimAt(claims, 'realm_access.roles.length')).toBeUndefined();
  });

  it('does not walk into inherited properties', () => {
    expect(claimAt({}, 'constructor')).toBeUndefined();
    expect(claimAt({ a: {} }, 'a.__proto__')).toBeUndefined();
  });

  it('takes a single string as one group and ignores values that are not strings', () => {
    expect(rawGroups({ groups: 'corp-analysts' }, 'groups')).toEqual(['corp-analysts']);
    expect(rawGroups({ groups: ['a', 7, null, { x: 1 }, '', 'b'] }, 'groups')).toEqual(['a', 'b']);
    expect(rawGroups({ groups: 42 }, 'groups')).toEqual([]);
  });

  it('maps provider groups (names or Entra object ids) and drops unmapped ones by default', () => {
    expect(
      mapGroups(['corp-analysts', '5f1c0d2e-8a4b-4e57-9c1d-0b6a7e3f2a11', 'corp-admins', 'corp-analysts'], provider())
    ).toEqual(['analysts', 'finance']);
  });

  it('keeps unmapped groups only with acceptUnmappedGroups, and only valid group names', () => {
    const accepting = provider({ acceptUnmappedGroups: true });
    expect(mapGroups(['corp-analysts', 'sales', 'has space', 'x'.repeat(65), 'a/b'], accepting)).toEqual([
      'analysts',
      'sales'
    ]);
  });

  it('does not let a provider group named like an Object property map to anything', () => {
    expect(mapGroups(['constructor', 'toString', '__proto__'], provider())).toEqual([]);
  });

  it('notices Entra ID group overage: _claim_names.groups without groups', () => {
    const overage = {
      sub: 's',
      _claim_names: { groups: 'src1' },
      _claim_sources: { src1: { endpoint: 'https://graph' } }
    };
    expect(groupOverage(overage, 'groups')).toBe(true);
    expect(providerGroups(provider(), overage)).toEqual({ groups: [], overage: true });
    expect(groupOverage({ groups: ['corp-analysts'], _claim_names: { groups: 'src1' } }, 'groups')).toBe(false);
    expect(providerGroups(provider(), { groups: ['corp-analysts'] })).toEqual({ groups: ['analysts'], overage: false });
  });

  it('prefers user info when it carries the claim, else the ID token', () => {
    const idToken = { groups: ['corp-analysts'] };
    expect(providerGroups(provider(), idToken, { groups: ['5f1c0d2e-8a4b-4e57-9c1d-0b6a7e3f2a11'] }).groups).toEqual([
      'finance'
    ]);
    expect(providerGroups(provider(), idToken, { email: 'a@b.c' }).groups).toEqual(['analysts']);
  });
});
