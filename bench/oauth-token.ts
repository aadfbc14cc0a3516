import { auth } from '@modelcontextprotocol/client';
import { signIn, TestOAuthProvider, type Credentials } from '../tests/helpers/oauth-login.ts';

/**
 * A bearer token obtained the way an MCP client obtains one: discovery from the resource,
 * dynamic client registration, authorization code with PKCE, a real sign-in and consent, and the
 * code exchanged at the token endpoint (the client SDK's `auth`). The sign-in is the tests'
 * form-filling user agent, which needs nothing from the test runner.
 */
export async function bearerTokenFor(endpoint: string, credentials: Credentials): Promise<string> {
  const provider = new TestOAuthProvider(url => signIn(url, credentials));
  if ((await auth(provider, { serverUrl: endpoint })) !== 'REDIRECT')
    throw new Error(`${endpoint}: expected a sign-in`);
  const callback = provider.callback;
  if (callback === undefined) throw new Error(`${endpoint}: the client was never sent to sign in`);
  const outcome = await auth(provider, {
    serverUrl: endpoint,
    authorizationCode: callback.searchParams.get('code') ?? '',
    iss: callback.searchParams.get('iss') ?? ''
  });
  const tokens = provider.tokens();
  if (outcome !== 'AUTHORIZED' || tokens === undefined) throw new Error(`${endpoint}: no token`);
  return tokens.access_token;
}
