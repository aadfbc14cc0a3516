import * as client from 'openid-client';
import { saveAccount } from './account-update.ts';
import type { FederationContext } from './federation-context.ts';
import { providerGroups, type Claims } from './group-claims.ts';

/**
 * At a sqlbridge refresh, asks the user's provider again (with the refresh token kept for them) what
 * groups they are in, so that a user the organisation removed from a group loses what it gave at the
 * next refresh. The provider refusing (the account disabled, the token revoked) or being unreachable
 * refuses the sqlbridge refresh; after a refusal (not an outage) the provider is not asked again
 * until the user signs in through it anew. A user with no kept token (a password user, a provider configured
 * not to keep one) is not asked about: their groups are those of their last sign-in.
 *
 * One refresh per user at a time in this process: the provider rotates its refresh token, and two
 * clients of one user refreshing at once must not both spend the same one.
 */
export class UpstreamRefresh {
  private readonly context: FederationContext;
  private readonly running = new Map<string, Promise<boolean>>();

  constructor(context: FederationContext) {
    this.context = context;
  }

  async refreshUser(username: string): Promise<boolean> {
    const key = username.normalize('NFC').toLowerCase();
    const running = this.running.get(key);
    if (running !== undefined) return running;
    const attempt = this.refresh(username).finally(() => this.running.delete(key));
    this.running.set(key, attempt);
    return attempt;
  }

  private async refresh(username: string): Promise<boolean> {
    const { context } = this;
    const row = await context.records.row(username);
    if (row?.upstreamRefusedAt !== undefined) return false;
    if (row?.upstreamRefreshToken === undefined) return true;
    const provider = row.provider === undefined ? undefined : context.providers.get(row.provider);
    const token = await context.records.upstreamToken(username);
    if (provider === undefined || token === undefined || row.subject === undefined) {
      context.logger.warn({ user: username, provider: row.provider }, 'the user’s identity provider is not configured');
      return false;
    }
    const user = context.users.find(username);
    if (user === undefined) return false;
    try {
      const configuration = await context.providers.configuration(provider.id);
      const tokens = await client.refreshTokenGrant(configuration, token);
      const claims: Claims | undefined = tokens.claims();
      if (claims !== undefined && claims['sub'] !== row.subject) {
        context.logger.warn(
          { user: username, provider: provider.id },
          'the identity provider answered for another account'
        );
        return false;
      }
      const userinfo: Claims | undefined = provider.userinfo
        ? await client.fetchUserInfo(configuration, tokens.access_token, row.subject)
        : undefined;
      // No ID token and no user info: nothing says the groups changed.
      const groups =
        claims === undefined && userinfo === undefined
          ? (row.upstreamGroups ?? [])
          : providerGroups(provider, claims ?? {}, userinfo).groups;
      await saveAccount(context, {
        user,
        created: false,
        provider,
        issuer: row.issuer ?? configuration.serverMetadata().issuer,
        subject: row.subject,
        groups,
        refreshToken: tokens.refresh_token,
        keepOldToken: true
      });
      return true;
    } catch (failure) {
      context.logger.warn(
        { user: username, provider: provider.id, reason: failure instanceof Error ? failure.name : 'Error' },
        'the identity provider refused to refresh the user’s sign-in: the sqlbridge refresh is refused'
      );
      // A definite no (not an outage): the kept token is dead, and the provider is not asked again.
      if (failure instanceof client.ResponseBodyError && failure.error === 'invalid_grant') {
        await context.records.update(username, current => {
          const { upstreamRefreshToken: _dead, ...rest } = current;
          return { ...rest, upstreamRefusedAt: Date.now() };
        });
      }
      return false;
    }
  }
}
