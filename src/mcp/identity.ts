import type { AuthInfo } from '@modelcontextprotocol/server';
import type { SessionIdentity } from '../db/driver.ts';

/**
 * Who the bearer token says is calling, as the database layer sees it: the user (`sub`), the OAuth
 * client, the user's attributes and groups as they are now (the token verifier reads them from the
 * user directory on every call). Undefined without OAuth (no token).
 */
export function identityOf(authInfo: AuthInfo | undefined): SessionIdentity | undefined {
  if (authInfo === undefined) return undefined;
  const subject = authInfo.extra?.['sub'];
  const attributes = authInfo.extra?.['attributes'];
  const groups = authInfo.extra?.['groups'];
  const identity: SessionIdentity = {
    subject: typeof subject === 'string' ? subject : null,
    clientId: authInfo.clientId
  };
  if (typeof attributes === 'object' && attributes !== null) {
    identity.attributes = attributes as Record<string, string>;
  }
  if (Array.isArray(groups)) identity.groups = groups.filter((group): group is string => typeof group === 'string');
  return identity;
}
