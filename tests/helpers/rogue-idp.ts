import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

/**
 * An OpenID provider that answers whatever a scenario says, for the federation attack tests: its
 * discovery document and key set are ordinary, its authorization endpoint sends the browser straight
 * back with a code and the state it was given, and its token endpoint returns an ID token crafted
 * with `jose` to be wrong in exactly one way (another issuer, another audience, expired, unsigned,
 * signed by a key it does not publish, another nonce) or right, for an account the test chooses.
 * It checks PKCE itself, so a relying party that does not send S256 fails here too.
 */

export type RogueScenario =
  'valid' | 'other-issuer' | 'other-audience' | 'expired' | 'unsigned' | 'unknown-key' | 'wrong-nonce';

export interface RogueAccount {
  sub: string;
  email: string;
  name: string;
  groups: string[];
}

export interface RogueIdp {
  /** http://127.0.0.1:<port> */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** How the next ID tokens are made. */
  scenario: RogueScenario;
  /** Whose ID tokens it issues. */
  account: RogueAccount;
  /** Every authorization request received, in order. */
  authorizations: URLSearchParams[];
  /** The ID tokens issued, in order. */
  idTokens: string[];
  /** Token requests refused (a bad code or PKCE verifier), with the reason. */
  refusals: string[];
  close(): Promise<void>;
}

interface PendingCode {
  nonce: string | undefined;
  challenge: string | undefined;
  redirectUri: string;
}

const CLIENT_ID = 'sqlbridge';
const ALG = 'RS256';

async function form(req: IncomingMessage): Promise<URLSearchParams> {
  let text = '';
  for await (const chunk of req) text += String(chunk);
  return new URLSearchParams(text);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}

/** A JWT with `alg: none` and no signature (RFC 7519 §6.1), which no relying party may accept. */
function unsignedJwt(claims: Record<string, unknown>): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${encode({ alg: 'none', typ: 'JWT' })}.${encode(claims)}.`;
}

export async function startRogueIdp(account: RogueAccount): Promise<RogueIdp> {
  const server = createServer();
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const published = await generateKeyPair(ALG, { extractable: true });
  const unpublished = await generateKeyPair(ALG);
  const publicJwk: JWK = { ...(await exportJWK(published.publicKey)), kid: 'rogue-1', alg: ALG, use: 'sig' };
  const codes = new Map<string, PendingCode>();
  const idp: RogueIdp = {
    issuer,
    clientId: CLIENT_ID,
    clientSecret: randomBytes(32).toString('base64url'),
    scenario: 'valid',
    account,
    authorizations: [],
    idTokens: [],
    refusals: [],
    close: () =>
      new Promise<void>(resolve => {
        server.closeAllConnections();
        server.close(() => resolve());
      })
  };

  async function idToken(pending: PendingCode): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const scenario = idp.scenario;
    const claims: Record<string, unknown> = {
      sub: idp.account.sub,
      email: idp.account.email,
      email_verified: true,
      name: idp.account.name,
      groups: idp.account.groups,
      nonce: scenario === 'wrong-nonce' ? randomBytes(16).toString('base64url') : pending.nonce
    };
    if (scenario === 'unsigned') {
      return unsignedJwt({ ...claims, iss: issuer, aud: CLIENT_ID, iat: now, exp: now + 300 });
    }
    // Expired well beyond any clock tolerance (openid-client allows 30 s).
    const [iat, exp] = scenario === 'expired' ? [now - 7200, now - 3600] : [now, now + 300];
    const key: CryptoKey = scenario === 'unknown-key' ? unpublished.privateKey : published.privateKey;
    return new SignJWT(claims)
      .setProtectedHeader({ alg: ALG, kid: publicJwk.kid ?? '', typ: 'JWT' })
      .setIssuer(scenario === 'other-issuer' ? 'https://login.attacker.example' : issuer)
      .setAudience(scenario === 'other-audience' ? 'some-other-client' : CLIENT_ID)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(key);
  }

  async function token(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await form(req);
    const code = body.get('code') ?? '';
    const pending = codes.get(code);
    codes.delete(code);
    const verifier = body.get('code_verifier') ?? '';
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const refusal =
      body.get('grant_type') !== 'authorization_code' || pending === undefined
        ? 'unknown code'
        : pending.redirectUri !== body.get('redirect_uri')
          ? 'redirect_uri differs'
          : pending.challenge === undefined || challenge !== pending.challenge
            ? 'PKCE verifier does not match'
            : undefined;
    if (refusal !== undefined || pending === undefined) {
      idp.refusals.push(refusal ?? 'unknown code');
      json(res, 400, { error: 'invalid_grant', error_description: refusal });
      return;
    }
    const issued = await idToken(pending);
    idp.idTokens.push(issued);
    json(res, 200, {
      access_token: randomBytes(32).toString('base64url'),
      token_type: 'Bearer',
      expires_in: 300,
      scope: 'openid profile email',
      id_token: issued
    });
  }

  function authorize(url: URL, res: ServerResponse): void {
    const params = url.searchParams;
    idp.authorizations.push(params);
    const redirect = params.get('redirect_uri') ?? '';
    const code = randomBytes(24).toString('base64url');
    const challenge =
      params.get('code_challenge_method') === 'S256' ? (params.get('code_challenge') ?? undefined) : undefined;
    codes.set(code, { nonce: params.get('nonce') ?? undefined, challenge, redirectUri: redirect });
    const back = new URL(redirect);
    back.searchParams.set('code', code);
    const state = params.get('state');
    if (state !== null) back.searchParams.set('state', state);
    res.writeHead(302, { location: back.href }).end();
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', issuer);
    if (url.pathname === '/.well-known/openid-configuration') {
      json(res, 200, {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: [ALG],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic']
      });
    } else if (url.pathname === '/jwks') {
      json(res, 200, { keys: [publicJwk] });
    } else if (url.pathname === '/authorize' && req.method === 'GET') {
      authorize(url, res);
    } else if (url.pathname === '/token' && req.method === 'POST') {
      token(req, res).catch((error: unknown) => {
        json(res, 500, { error: 'server_error', error_description: String(error) });
      });
    } else {
      res.writeHead(404).end();
    }
  });
  return idp;
}
