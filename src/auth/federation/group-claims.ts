import type { UpstreamProviderConfig } from './upstream-providers.ts';

/**
 * The groups a provider says a user is in, as sqlbridge groups. The claim is named by a dotted path
 * (`groups`, `roles`, Keycloak's `realm_access.roles`) and holds an array of strings or one string.
 * Provider groups become sqlbridge groups through `groupMap`; unmapped ones are dropped unless
 * `acceptUnmappedGroups`, and even then only when they are valid sqlbridge group names.
 *
 * Microsoft Entra ID leaves `groups` out of the ID token when a user is in more groups than fit
 * (200 in a JWT) and names a Graph endpoint in `_claim_names.groups` instead ("group overage",
 * https://learn.microsoft.com/entra/identity-platform/id-token-claims-reference#groups-overage-claim).
 * sqlbridge does not call Graph: the sign-in goes on with no provider groups, and says so.
 */

const GROUP_NAME = /^[A-Za-z0-9._@+-]{1,64}$/;
/** More than any directory sends for one person; beyond it the claim is not a list of groups. */
const MAX_GROUPS = 1000;

export type Claims = Readonly<Record<string, unknown>>;

export interface ProviderGroups {
  /** The sqlbridge groups, in the order the provider listed them, without repeats. */
  groups: string[];
  /** Entra ID's group overage: the claim was left out and the groups are unknown. */
  overage: boolean;
}

/** The value at a dotted path of the claims (`realm_access.roles`), or undefined. */
export function claimAt(claims: Claims, path: string): unknown {
  let current: unknown = claims;
  for (const step of path.split('.')) {
    if (typeof current !== 'object' || current === null || Array.isArray(current)) return undefined;
    if (!Object.hasOwn(current, step)) return undefined;
    current = (current as Record<string, unknown>)[step];
  }
  return current;
}

/** The provider's group names in the claim: an array's strings, or a single string. */
export function rawGroups(claims: Claims, path: string): string[] {
  const value = claimAt(claims, path);
  if (typeof value === 'string') return value === '' ? [] : [value];
  if (!Array.isArray(value)) return [];
  return value.slice(0, MAX_GROUPS).filter((item): item is string => typeof item === 'string' && item !== '');
}

/** Whether the claims announce Entra ID's group overage for this claim instead of listing the groups. */
export function groupOverage(claims: Claims, path: string): boolean {
  if (claimAt(claims, path) !== undefined) return false;
  const names = claims['_claim_names'];
  return typeof names === 'object' && names !== null && Object.hasOwn(names, path);
}

/** Provider groups → sqlbridge groups, by `groupMap` and `acceptUnmappedGroups`. */
export function mapGroups(
  raw: readonly string[],
  provider: Pick<UpstreamProviderConfig, 'groupMap' | 'acceptUnmappedGroups'>
): string[] {
  const out = new Set<string>();
  for (const group of raw) {
    const mapped = Object.hasOwn(provider.groupMap, group) ? provider.groupMap[group] : undefined;
    if (mapped !== undefined) out.add(mapped);
    else if (provider.acceptUnmappedGroups && GROUP_NAME.test(group)) out.add(group);
  }
  return [...out];
}

/**
 * The user's sqlbridge groups from the ID token's claims and, when the provider's user info is read,
 * from it (user info wins when it carries the claim: it is the fresher, fuller answer).
 */
export function providerGroups(
  provider: Pick<UpstreamProviderConfig, 'groupsClaim' | 'groupMap' | 'acceptUnmappedGroups'>,
  idToken: Claims,
  userinfo?: Claims
): ProviderGroups {
  const path = provider.groupsClaim;
  const source = userinfo !== undefined && claimAt(userinfo, path) !== undefined ? userinfo : idToken;
  return { groups: mapGroups(rawGroups(source, path), provider), overage: groupOverage(source, path) };
}
