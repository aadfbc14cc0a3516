import type { UserRecords, UserRow } from '../server/user-records.ts';
import { federatedUsername, type User, type UserDirectory } from '../server/users.ts';
import type { Claims } from './group-claims.ts';
import type { UpstreamProviderConfig } from './upstream-providers.ts';

/**
 * Which sqlbridge user a provider's account signs in as. The key is the account — the provider (and
 * the issuer it had) and the subject — never the e-mail, which providers let people set and which
 * therefore proves nothing (the "nOAuth" takeover: an Entra tenant whose user sets the victim's
 * address). In order:
 *
 * 1. a configured user whose `identities` link the account;
 * 2. the user this provider created for the account before (`<provider>:<subject>`), if the row
 *    records the same issuer (a provider id pointed at another issuer names other people);
 * 3. with just-in-time users on, a new user — unless the account's e-mail already belongs to
 *    someone (a local user, another provider's): refused, never merged;
 * 4. else refused: the account is not linked to anyone.
 */

export type Resolution =
  | { ok: true; user: User; created: boolean }
  | { ok: false; errorClass: 'not_linked' | 'email_in_use' | 'issuer_changed' | 'user_not_allowed' };

export interface ResolveInput {
  provider: UpstreamProviderConfig;
  /** The issuer the provider's discovery document names now. */
  issuer: string;
  subject: string;
  claims: Claims;
  /** The sqlbridge groups the provider reported (mapped). */
  groups: readonly string[];
}

export async function resolveIdentity(
  users: UserDirectory,
  records: Pick<UserRecords, 'row'>,
  input: ResolveInput
): Promise<Resolution> {
  const { provider, subject } = input;
  const linked = users.byIdentity(provider.id, subject);
  if (linked !== undefined) {
    if (linked.origin === 'federated') {
      const row: UserRow | undefined = await records.row(linked.username);
      if (row?.issuer !== undefined && row.issuer !== input.issuer) return { ok: false, errorClass: 'issuer_changed' };
    }
    return linked.disabled ? { ok: false, errorClass: 'user_not_allowed' } : { ok: true, user: linked, created: false };
  }
  if (!provider.justInTime.enabled) return { ok: false, errorClass: 'not_linked' };
  const email = stringClaim(input.claims, 'email');
  if (email !== undefined && users.byEmail(email).length > 0) return { ok: false, errorClass: 'email_in_use' };
  const name = stringClaim(input.claims, 'name');
  const user: User = {
    username: federatedUsername(provider.id, subject),
    ...(email === undefined ? {} : { email }),
    ...(name === undefined ? {} : { displayName: name }),
    environments: [...provider.justInTime.environments],
    scopes: [...provider.justInTime.scopes],
    groups: [...provider.justInTime.groups],
    disabled: false,
    attributes: {},
    identities: [{ provider: provider.id, subject }],
    origin: 'federated'
  };
  return { ok: true, user, created: true };
}

/** A claim that is a non-empty string of reasonable length, else undefined. */
export function stringClaim(claims: Claims, name: string): string | undefined {
  const value = claims[name];
  return typeof value === 'string' && value.trim() !== '' && value.length <= 320 ? value.trim() : undefined;
}
