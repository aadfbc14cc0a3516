import type { AuditRecord } from '../audit/record.ts';

/**
 * What the admin console (`/admin`) and `sqlbridge admin …` show and do, engine of both: the
 * registered clients, the grants users gave them, the users, the signing keys and the audit trail
 * of every environment. Implemented by admin-service.ts; every action is itself audited.
 */

/** Who acts: the signed-in administrator's user name (console) or `cli` (a command). */
export interface AdminActor {
  username: string;
  /** Where the request came from (console), for the audit record. */
  remoteAddress?: string;
  requestId?: string;
}

export interface ClientSummary {
  environment: string;
  clientId: string;
  name?: string;
  /** `static`: `auth.clients`; `dynamic`: registered through /register; `metadata-document`: an https client id. */
  kind: 'static' | 'dynamic' | 'metadata-document';
  redirectHosts: string[];
  /** Epoch ms; absent for configured clients. */
  registeredAt?: number;
  lastUsedAt?: number;
}

export interface GrantSummary {
  environment: string;
  grantId: string;
  user: string;
  clientId: string;
  clientName?: string;
  scope: string;
  grantedAt: number;
  expiresAt?: number;
}

export interface UserSummary {
  username: string;
  email?: string;
  displayName?: string;
  origin: 'config' | 'federated';
  groups: string[];
  environments: string[];
  scopes: string[];
  disabled: boolean;
  lastSignInAt?: number;
  /** Grants the user holds now, over every environment. */
  grants: number;
}

export interface ClientFilter {
  /** Matches the client id, name or a redirect host (case-insensitive substring). */
  q?: string;
  environment?: string;
}

export interface GrantFilter {
  user?: string;
  clientId?: string;
  environment?: string;
}

export interface UserFilter {
  q?: string;
  /** Only users who hold a grant now. */
  active?: boolean;
}

export interface AuditQuery {
  environment?: string;
  /** An event name (`admin.grant_revoked`) or group (`admin`). */
  event?: string;
  user?: string;
  clientId?: string;
  outcome?: string;
  /** Epoch ms. */
  since?: number;
  limit?: number;
}

export interface Administration {
  clients(filter?: ClientFilter): Promise<ClientSummary[]>;
  grants(filter?: GrantFilter): Promise<GrantSummary[]>;
  users(filter?: UserFilter): Promise<UserSummary[]>;
  /** Newest first. */
  audit(query?: AuditQuery): Promise<AuditRecord[]>;
  /** Deletes the grant and every token issued under it; false when there was none. */
  revokeGrant(environment: string, grantId: string, actor: AdminActor): Promise<boolean>;
  /** Deletes a registered client and revokes its grants (it can neither refresh nor be used again); false when unknown. */
  deleteClient(environment: string, clientId: string, actor: AdminActor): Promise<boolean>;
  /** Disables or enables an account: its tokens stop (or start) working on the next call, on every replica. */
  setUserDisabled(username: string, disabled: boolean, actor: AdminActor): Promise<boolean>;
  /** A new signing key for each named environment (all when none), used at once; the environments rotated. */
  rotateKeys(environments: readonly string[] | undefined, actor: AdminActor): Promise<string[]>;
}
