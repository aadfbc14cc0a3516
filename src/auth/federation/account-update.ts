import type { UserRow } from '../server/user-records.ts';
import type { User } from '../server/users.ts';
import { recordSignIn, type FederationContext } from './federation-context.ts';
import type { UpstreamProviderConfig } from './upstream-providers.ts';

/**
 * Writes what a provider just said about a user into their row (user-records.ts): the account
 * (provider, issuer, subject), the mapped groups, and the provider's refresh token sealed when the
 * provider is configured to keep one and issued one (else any older one is dropped: it would re-read
 * groups the provider no longer vouches for). A created user is saved whole; a change of groups is
 * audited.
 */

export interface AccountUpdate {
  user: User;
  created: boolean;
  provider: UpstreamProviderConfig;
  issuer: string;
  subject: string;
  groups: readonly string[];
  refreshToken: string | undefined;
  /** Keep the row's refresh token when the provider issued none (a refresh that did not rotate it). */
  keepOldToken?: boolean;
}

export async function saveAccount(context: FederationContext, update: AccountUpdate, now = Date.now()): Promise<void> {
  const { user, provider } = update;
  const username = user.username;
  const before = (await context.records.row(username))?.upstreamGroups;
  await context.records.update(username, row => {
    // What the provider just said supersedes an earlier refusal.
    const { upstreamRefreshToken: oldToken, upstreamRefusedAt: _refused, ...rest } = row;
    const token =
      provider.keepRefreshToken && update.refreshToken !== undefined
        ? context.records.sealUpstreamToken(username, update.refreshToken)
        : provider.keepRefreshToken && update.keepOldToken === true
          ? oldToken
          : undefined;
    const next: UserRow = {
      ...rest,
      ...(update.created ? { user: stored(user) } : {}),
      provider: provider.id,
      issuer: update.issuer,
      subject: update.subject,
      upstreamGroups: [...update.groups],
      lastSignInAt: now,
      ...(token === undefined ? {} : { upstreamRefreshToken: token })
    };
    return next;
  });
  if (update.created) {
    context.logger.info({ user: username, provider: provider.id }, 'user created by the identity provider');
    recordSignIn(context, undefined, {
      event: 'user.created',
      outcome: 'ok',
      user: username,
      detail: { provider: provider.id, groups: update.groups.join(' ') }
    });
  } else if (before !== undefined && !sameGroups(before, update.groups)) {
    context.logger.info(
      { user: username, provider: provider.id },
      "the user's groups at the identity provider changed"
    );
    recordSignIn(context, undefined, {
      event: 'user.groups_changed',
      outcome: 'ok',
      user: username,
      detail: { provider: provider.id, before: before.join(' '), after: update.groups.join(' ') }
    });
  }
}

/** The user as their row keeps them: what the provider's sign-in gave, not what groups add at lookup. */
function stored(user: User): User {
  const { origin: _origin, ...rest } = user;
  return { ...rest, origin: 'federated' };
}

function sameGroups(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((group, i) => group === b[i]);
}
