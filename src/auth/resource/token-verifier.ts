import { OAuthError, OAuthErrorCode, type AuthInfo, type OAuthTokenVerifier } from '@modelcontextprotocol/server';
import { createLocalJWKSet, jwtVerify, type JWK, type JWTPayload } from 'jose';
import { permits, type UserDirectory } from '../server/users.ts';
import type { AuthStore } from '../storage/store.ts';

/**
 * The resource server's check of a bearer token at `/<environment>/mcp`: an ES256 JWT signed by this
 * environment's authorization server (`iss`), issued for this endpoint (`aud`), unexpired, whose
 * grant still exists (revocation and refresh-token replay delete it; the answer is reused for
 * `grantCheckMs`) and whose user may still use the environment. A token from another environment
 * fails the signature, issuer and audience checks alike.
 */

const CLOCK_TOLERANCE_S = 5;
/** Verified tokens remembered at most (a few MB); more are verified again on their next use. */
const MAX_VERIFIED_TOKENS = 10_000;

export interface VerifierOptions {
  environment: string;
  issuer: string;
  resource: string;
  /** Public signing keys of the environment's authorization server. */
  keys: readonly JWK[];
  store: AuthStore;
  users: UserDirectory;
  grantCheckMs: number;
  now?: () => number;
}

export class AccessTokenVerifier implements OAuthTokenVerifier {
  private readonly options: VerifierOptions;
  private readonly keySet: ReturnType<typeof createLocalJWKSet>;
  private readonly grants = new Map<string, { valid: boolean; at: number }>();
  /** Tokens whose signature and claims were verified, until they expire. */
  private readonly verified = new Map<string, { payload: JWTPayload; expiresAtMs: number }>();

  constructor(options: VerifierOptions) {
    this.options = options;
    this.keySet = createLocalJWKSet({ keys: [...options.keys] });
  }

  async verifyAccessToken(token: string): Promise<AuthInfo> {
    const { resource, environment } = this.options;
    const payload = await this.claims(token);
    const subject = String(payload.sub);
    const clientId = String(payload['client_id']);
    const grantId = String(payload['gid']);
    if (!(await this.grantValid(grantId))) {
      throw new OAuthError(OAuthErrorCode.InvalidToken, 'The authorization behind this token was revoked');
    }
    const user = this.options.users.allowed(subject, environment);
    if (user === undefined) {
      throw new OAuthError(OAuthErrorCode.InvalidToken, 'This user may no longer use this environment');
    }
    // A token carries what was granted then; the user's scopes now decide (a demoted writer stops writing).
    const scope = typeof payload['scope'] === 'string' ? payload['scope'] : '';
    const scopes = scope.split(' ').filter(s => s !== '' && permits(user, s));
    return {
      token,
      clientId,
      scopes,
      expiresAt: payload.exp,
      resource: new URL(resource),
      // The user's attributes as they are now (not as they were when the token was issued), for the
      // environment's `identity` setting to set into the database session.
      extra: { sub: subject, grantId, attributes: attributeStrings(user.attributes), groups: [...(user.groups ?? [])] }
    };
  }

  /**
   * The token's verified claims. The signature, issuer, audience and type are checked once per
   * token; a token seen before is only checked to be unexpired (with the same clock tolerance).
   * Tokens that fail are not remembered.
   */
  private async claims(token: string): Promise<JWTPayload> {
    const now = this.options.now?.() ?? Date.now();
    const known = this.verified.get(token);
    if (known !== undefined) {
      if (now < known.expiresAtMs) return known.payload;
      this.verified.delete(token);
      throw new OAuthError(OAuthErrorCode.InvalidToken, 'The access token is invalid or has expired');
    }
    const { issuer, resource } = this.options;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.keySet, {
        issuer,
        audience: resource,
        algorithms: ['ES256'],
        typ: 'at+jwt',
        requiredClaims: ['exp', 'iat', 'sub', 'client_id', 'gid', 'jti'],
        clockTolerance: CLOCK_TOLERANCE_S,
        ...(this.options.now === undefined ? {} : { currentDate: new Date(now) })
      }));
    } catch {
      throw new OAuthError(OAuthErrorCode.InvalidToken, 'The access token is invalid or has expired');
    }
    if (this.verified.size >= MAX_VERIFIED_TOKENS) this.forgetExpired(now);
    this.verified.set(token, { payload, expiresAtMs: ((payload.exp ?? 0) + CLOCK_TOLERANCE_S) * 1000 });
    return payload;
  }

  private forgetExpired(now: number): void {
    for (const [token, entry] of this.verified) if (now >= entry.expiresAtMs) this.verified.delete(token);
    // Still full of live tokens: forget the oldest (they are verified again when they come back).
    for (const token of this.verified.keys()) {
      if (this.verified.size < MAX_VERIFIED_TOKENS) break;
      this.verified.delete(token);
    }
  }

  /**
   * Forgets what was cached of these grants (an administrator revoked them, here or on another
   * replica): their tokens are checked against the store on their very next use.
   */
  forgetGrants(grantIds: readonly string[]): void {
    for (const grantId of grantIds) this.grants.delete(grantId);
  }

  private async grantValid(grantId: string): Promise<boolean> {
    const now = this.options.now?.() ?? Date.now();
    const cached = this.grants.get(grantId);
    if (cached !== undefined && now - cached.at < this.options.grantCheckMs) return cached.valid;
    const grant = await this.options.store.adapter(this.options.environment, 'Grant').find(grantId);
    const valid = grant !== undefined;
    this.grants.set(grantId, { valid, at: now });
    if (this.grants.size > 10_000) {
      for (const [id, entry] of this.grants) if (now - entry.at >= this.options.grantCheckMs) this.grants.delete(id);
    }
    return valid;
  }
}

function attributeStrings(attributes: Readonly<Record<string, string | number | boolean>>): Record<string, string> {
  return Object.fromEntries(Object.entries(attributes).map(([name, value]) => [name, String(value)]));
}
