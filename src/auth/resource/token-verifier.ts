import { OAuthError, OAuthErrorCode, type AuthInfo, type OAuthTokenVerifier } from '@modelcontextprotocol/server';
import { createLocalJWKSet, jwtVerify, type JWK, type JWTPayload } from 'jose';
import { permits, type UserDirectory } from '../server/users.ts';
import { StoreUnavailable } from '../../errors/store-unavailable.ts';
import type { AuthStore } from '../storage/store.ts';

/**
 * The resource server's check of a bearer token at `/<environment>/mcp`: an ES256 JWT signed by this
 * environment's authorization server (`iss`), issued for this endpoint (`aud`), unexpired, whose
 * grant still exists (revocation and refresh-token replay delete it; the answer is reused for
 * `grantCheckMs`) and whose user may still use the environment. A token from another environment
 * fails the signature, issuer and audience checks alike.
 *
 * A token is used for many calls in a row: its signature and claims are verified once, and what it
 * grants (its AuthInfo, from the user as the directory has them) is kept with it until the directory
 * changes. Every use still checks expiry and the grant.
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
  /**
   * Tokens whose signature and claims were verified, until they expire, by their signature: a Map
   * hashes its key on every lookup, and the signature is a tenth of the token. The whole token
   * must still match.
   */
  private readonly verified = new Map<string, VerifiedToken>();
  private readonly resource: URL;

  constructor(options: VerifierOptions) {
    this.options = options;
    this.keySet = createLocalJWKSet({ keys: [...options.keys] });
    this.resource = new URL(options.resource);
  }

  async verifyAccessToken(token: string): Promise<AuthInfo> {
    const known = this.verified.get(signatureOf(token));
    const verified = known !== undefined && known.token === token ? known : await this.verify(token);
    const now = this.options.now?.() ?? Date.now();
    if (now >= verified.expiresAtMs) {
      this.verified.delete(signatureOf(token));
      throw new OAuthError(OAuthErrorCode.InvalidToken, 'The access token is invalid or has expired');
    }
    const grantId = String(verified.payload['gid']);
    const cached = this.grants.get(grantId);
    const valid =
      cached !== undefined && now - cached.at < this.options.grantCheckMs
        ? cached.valid
        : await this.checkGrant(grantId);
    if (!valid) throw new OAuthError(OAuthErrorCode.InvalidToken, 'The authorization behind this token was revoked');
    const users = this.options.users.version;
    if (verified.granted?.users !== users) verified.granted = { info: this.authInfo(token, verified.payload), users };
    return verified.granted.info;
  }

  /**
   * What the token grants, from the user as the directory has them now: a token carries what was
   * granted then, and the user's scopes now decide (a demoted writer stops writing). Frozen: every
   * call with the token shares it.
   */
  private authInfo(token: string, payload: JWTPayload): AuthInfo {
    const subject = String(payload.sub);
    const user = this.options.users.allowed(subject, this.options.environment);
    if (user === undefined) {
      throw new OAuthError(OAuthErrorCode.InvalidToken, 'This user may no longer use this environment');
    }
    const scope = typeof payload['scope'] === 'string' ? payload['scope'] : '';
    const scopes = Object.freeze(scope.split(' ').filter(s => s !== '' && permits(user, s)));
    // The user's attributes as they are now (not as they were when the token was issued), for the
    // environment's `identity` setting to set into the database session.
    const extra = Object.freeze({
      sub: subject,
      grantId: String(payload['gid']),
      attributes: Object.freeze(attributeStrings(user.attributes)),
      groups: Object.freeze([...(user.groups ?? [])])
    });
    return Object.freeze({
      token,
      clientId: String(payload['client_id']),
      scopes: scopes as string[],
      expiresAt: payload.exp,
      resource: this.resource,
      extra
    });
  }

  /**
   * Verifies the token's signature, issuer, audience, type and claims, once per token: afterwards it
   * is only checked to be unexpired (with the same clock tolerance). Tokens that fail are not
   * remembered.
   */
  private async verify(token: string): Promise<VerifiedToken> {
    const now = this.options.now?.() ?? Date.now();
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
    const verified: VerifiedToken = { token, payload, expiresAtMs: ((payload.exp ?? 0) + CLOCK_TOLERANCE_S) * 1000 };
    this.verified.set(signatureOf(token), verified);
    return verified;
  }

  private forgetExpired(now: number): void {
    for (const [signature, entry] of this.verified) if (now >= entry.expiresAtMs) this.verified.delete(signature);
    // Still full of live tokens: forget the oldest (they are verified again when they come back).
    for (const signature of this.verified.keys()) {
      if (this.verified.size < MAX_VERIFIED_TOKENS) break;
      this.verified.delete(signature);
    }
  }

  /**
   * Forgets what was cached of these grants (an administrator revoked them, here or on another
   * replica): their tokens are checked against the store on their very next use.
   */
  forgetGrants(grantIds: readonly string[]): void {
    for (const grantId of grantIds) this.grants.delete(grantId);
  }

  /** Whether the grant still exists in the store (the answer is reused for `grantCheckMs`). */
  private async checkGrant(grantId: string): Promise<boolean> {
    const now = this.options.now?.() ?? Date.now();
    let grant: unknown;
    try {
      grant = await this.options.store.adapter(this.options.environment, 'Grant').find(grantId);
    } catch (error) {
      throw new StoreUnavailable('the grant behind a token could not be checked', error);
    }
    const valid = grant !== undefined;
    this.grants.set(grantId, { valid, at: now });
    if (this.grants.size > 10_000) {
      for (const [id, entry] of this.grants) if (now - entry.at >= this.options.grantCheckMs) this.grants.delete(id);
    }
    return valid;
  }
}

interface VerifiedToken {
  token: string;
  payload: JWTPayload;
  expiresAtMs: number;
  /** What it grants, and the version of the user directory that was derived from. */
  granted?: { info: AuthInfo; users: number };
}

/** The JWS signature of a compact token (what follows its last dot). */
function signatureOf(token: string): string {
  return token.slice(token.lastIndexOf('.') + 1);
}

function attributeStrings(attributes: Readonly<Record<string, string | number | boolean>>): Record<string, string> {
  return Object.fromEntries(Object.entries(attributes).map(([name, value]) => [name, String(value)]));
}
