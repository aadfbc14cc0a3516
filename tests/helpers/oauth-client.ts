import { createHash, randomBytes } from 'node:crypto';

/**
 * An OAuth client spoken by hand against a running server: dynamic registration as a public or
 * confidential client, the authorization URL with PKCE, and the token and revocation endpoints with
 * the client authenticating by `client_secret_basic` or `client_secret_post`. For tests that need
 * every request and answer (the MCP SDK hides them), and the values exchanged along the way.
 */

export type ClientAuthMethod = 'none' | 'client_secret_basic' | 'client_secret_post';

export interface OAuthClient {
  clientId: string;
  /** Undefined for a public client. */
  clientSecret: string | undefined;
  authMethod: ClientAuthMethod;
  redirectUri: string;
}

export interface Answer {
  status: number;
  body: Record<string, unknown>;
}

const endpoint = (baseUrl: string, environment: string, path: string): string => `${baseUrl}/${environment}/${path}`;

async function answer(response: Response): Promise<Answer> {
  const text = await response.text();
  return { status: response.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

/** Registers a client (RFC 7591); a confidential one receives its secret in the answer, once. */
export async function registerClient(
  baseUrl: string,
  environment: string,
  authMethod: ClientAuthMethod,
  redirectUri = 'http://127.0.0.1:9/callback',
  clientName = `secrets test (${authMethod})`
): Promise<OAuthClient & { answer: Answer }> {
  const result = await answer(
    await fetch(endpoint(baseUrl, environment, 'register'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_name: clientName,
        redirect_uris: [redirectUri],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: authMethod
      })
    })
  );
  const secret = result.body['client_secret'];
  return {
    clientId: String(result.body['client_id']),
    clientSecret: typeof secret === 'string' ? secret : undefined,
    authMethod,
    redirectUri,
    answer: result
  };
}

export interface Pkce {
  verifier: string;
  challenge: string;
}

export function pkce(): Pkce {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** Where the user agent is sent to sign in: code flow, PKCE S256, the environment's MCP endpoint as resource. */
export function authorizationUrl(
  baseUrl: string,
  environment: string,
  client: OAuthClient,
  challenge: string,
  scope = 'sql:read'
): URL {
  const url = new URL(endpoint(baseUrl, environment, 'authorize'));
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: client.clientId,
    redirect_uri: client.redirectUri,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    scope,
    state: randomBytes(8).toString('hex'),
    resource: endpoint(baseUrl, environment, 'mcp')
  }).toString();
  return url;
}

/** Form-urlencoding, as RFC 6749 §2.3.1 asks of client credentials in the Basic header. */
const formEncode = (value: string): string => encodeURIComponent(value).replaceAll('%20', '+');

/**
 * A POST to the token or revocation endpoint, the client authenticating as it registered; `secret`
 * replaces its own (to present a wrong one).
 */
async function clientPost(
  url: string,
  client: OAuthClient,
  params: Record<string, string>,
  secret = client.clientSecret
): Promise<Response> {
  const body = new URLSearchParams(params);
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (client.authMethod === 'client_secret_basic') {
    const pair = `${formEncode(client.clientId)}:${formEncode(secret ?? '')}`;
    headers['authorization'] = `Basic ${Buffer.from(pair).toString('base64')}`;
  } else {
    body.set('client_id', client.clientId);
    if (client.authMethod === 'client_secret_post') body.set('client_secret', secret ?? '');
  }
  return fetch(url, { method: 'POST', headers, body });
}

export async function redeemCode(
  baseUrl: string,
  environment: string,
  client: OAuthClient,
  code: string,
  verifier: string,
  secret?: string
): Promise<Answer> {
  return answer(
    await clientPost(
      endpoint(baseUrl, environment, 'token'),
      client,
      { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: client.redirectUri },
      secret ?? client.clientSecret
    )
  );
}

export async function refresh(
  baseUrl: string,
  environment: string,
  client: OAuthClient,
  refreshToken: string,
  secret?: string
): Promise<Answer> {
  return answer(
    await clientPost(
      endpoint(baseUrl, environment, 'token'),
      client,
      { grant_type: 'refresh_token', refresh_token: refreshToken },
      secret ?? client.clientSecret
    )
  );
}

/** RFC 7009 revocation; the status (200 whether or not the token was known). */
export async function revoke(
  baseUrl: string,
  environment: string,
  client: OAuthClient,
  token: string,
  hint: 'refresh_token' | 'access_token'
): Promise<number> {
  const response = await clientPost(endpoint(baseUrl, environment, 'revoke'), client, {
    token,
    token_type_hint: hint
  });
  await response.arrayBuffer();
  return response.status;
}
