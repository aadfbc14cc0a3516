import type { AuthStore } from '../auth/storage/store.ts';

/**
 * What administration knows of the grants of one environment: the consent a user gave a client,
 * which every refresh token and access token of that pair carries (`gid`). oidc-provider's Grant rows
 * are kept under hashed ids with their id sealed (hashed-store.ts) and cannot be listed, so each saved
 * grant also gets a record under its grant id (model `SqlbridgeGrantRecord`, a plain model) that lives
 * exactly as long as the grant. The record carries `grantId` in its payload, which is how the stores
 * index a grant's rows: revoking the grant's rows (`revokeByGrantId`, as oidc-provider does when a
 * refresh token is replayed) removes the record with them.
 */

export const GRANT_RECORD_MODEL = 'SqlbridgeGrantRecord';

export interface GrantRecord {
  grantId: string;
  /** The user (OAuth `sub`). */
  accountId: string;
  clientId: string;
  /** Every scope granted, over the environment's resources, space-separated. */
  scope: string;
  /** Epoch ms. */
  grantedAt: number;
  expiresAt?: number;
}

/** The Grant as oidc-provider hands it to `grant.saved`. */
export interface ProviderGrant {
  jti: string;
  accountId?: string | undefined;
  clientId?: string | undefined;
  /** Resource indicator → space-separated scopes. */
  resources?: Record<string, string | undefined> | undefined;
  openid?: { scope?: string | undefined } | undefined;
  /** Epoch seconds. */
  iat?: number | undefined;
  exp?: number | undefined;
  /** Seconds the grant has left (oidc-provider sets `exp` only in the stored payload of a new grant). */
  remainingTTL?: number | undefined;
}

export class GrantRecords {
  private readonly store: AuthStore;
  private readonly environment: string;
  private readonly now: () => number;

  constructor(options: { store: AuthStore; environment: string; now?: () => number }) {
    this.store = options.store;
    this.environment = options.environment;
    this.now = options.now ?? Date.now;
  }

  /** A grant was saved (consent given, or extended): its record, for as long as the grant lives. */
  async saved(grant: ProviderGrant): Promise<void> {
    if (grant.accountId === undefined || grant.clientId === undefined) return;
    const now = this.now();
    const expiresAt =
      grant.exp !== undefined
        ? grant.exp * 1000
        : grant.remainingTTL === undefined
          ? undefined
          : now + grant.remainingTTL * 1000;
    const ttlSeconds = expiresAt === undefined ? undefined : Math.max(1, Math.ceil((expiresAt - now) / 1000));
    const record: GrantRecord = {
      grantId: grant.jti,
      accountId: grant.accountId,
      clientId: grant.clientId,
      scope: scopeOf(grant),
      grantedAt: grant.iat === undefined ? now : grant.iat * 1000,
      ...(expiresAt === undefined ? {} : { expiresAt })
    };
    await this.adapter().upsert(grant.jti, { ...record }, ttlSeconds);
  }

  async find(grantId: string): Promise<GrantRecord | undefined> {
    return (await this.adapter().find(grantId)) as GrantRecord | undefined;
  }

  async list(): Promise<GrantRecord[]> {
    const rows = await this.store.list(this.environment, GRANT_RECORD_MODEL);
    return rows.map(row => row.payload as unknown as GrantRecord);
  }

  async remove(grantId: string): Promise<void> {
    await this.adapter().destroy(grantId);
  }

  private adapter() {
    return this.store.adapter(this.environment, GRANT_RECORD_MODEL);
  }
}

function scopeOf(grant: ProviderGrant): string {
  const scopes = new Set<string>();
  for (const value of [grant.openid?.scope, ...Object.values(grant.resources ?? {})]) {
    for (const scope of (value ?? '').split(' ')) if (scope !== '') scopes.add(scope);
  }
  return [...scopes].join(' ');
}
