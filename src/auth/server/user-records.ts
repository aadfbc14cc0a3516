import type { Cluster } from '../../cluster/cluster.ts';
import type { Logger } from '../../observability/logger.ts';
import type { HashedStore } from '../storage/hashed-store.ts';
import type { User, UserDirectory } from './users.ts';

/**
 * What the OAuth store holds about users beyond the configuration: the users identity providers
 * created just in time (with the provider's refresh token, sealed), and the accounts an administrator
 * disabled. One row per user name (model `SqlbridgeUser`, deployment-wide, a plain model of
 * hashed-store.ts); every change is told to the other replicas, which read the rows again, so a
 * disabled user is refused at once everywhere.
 */

export const USER_MODEL = 'SqlbridgeUser';
/** Deployment-wide rows are kept under this environment name (no environment can be named so). */
export const DEPLOYMENT = '';

export interface UserRow {
  /** A user created by a provider's sign-in; absent for a configured user's row. */
  user?: User;
  /** The provider's refresh token, sealed (keyed-hash.ts) to this row. */
  upstreamRefreshToken?: string;
  disabled?: boolean;
  /** Who disabled the account, and when (epoch ms). */
  disabledBy?: string;
  disabledAt?: number;
  lastSignInAt?: number;
  /** The provider account last signed in as this user: provider id, its issuer then, and subject. */
  provider?: string;
  issuer?: string;
  subject?: string;
  /** The sqlbridge groups the provider last reported (mapped), added to the user's own. */
  upstreamGroups?: string[];
  /**
   * When the provider refused the kept refresh token (epoch ms): the account was disabled or the
   * token revoked there. Every sqlbridge refresh is refused without asking again, until the user
   * signs in through the provider anew.
   */
  upstreamRefusedAt?: number;
}

export class UserRecords {
  private readonly store: HashedStore;
  private readonly cluster: Cluster;
  private readonly directory: UserDirectory;
  private readonly logger: Logger;
  private poll: NodeJS.Timeout | undefined;

  constructor(store: HashedStore, cluster: Cluster, directory: UserDirectory, logger: Logger) {
    this.store = store;
    this.cluster = cluster;
    this.directory = directory;
    this.logger = logger;
    const reread = (): void => {
      this.load().catch((error: unknown) => this.logger.error({ err: error }, 'the users could not be read again'));
    };
    cluster.on('users.changed', reread);
    cluster.onResync(reread);
  }

  /** Reads every row into the directory. */
  async load(): Promise<void> {
    const rows = await this.store.list(DEPLOYMENT, USER_MODEL);
    const federated: User[] = [];
    const disabled: string[] = [];
    const upstream: [string, string[]][] = [];
    for (const { id, payload } of rows) {
      const row = payload as UserRow;
      if (row.user !== undefined) federated.push(row.user);
      if (row.disabled === true) disabled.push(id);
      if (row.upstreamGroups !== undefined) upstream.push([id, row.upstreamGroups]);
    }
    this.directory.setFederated(federated);
    this.directory.setDisabled(disabled);
    this.directory.setUpstreamGroups(upstream);
  }

  /**
   * Reads the rows again every `intervalMs`, for a single process whose store another process
   * changes too (`sqlbridge admin` disabling a user): replicas sharing Redis are told instead.
   */
  startPolling(intervalMs: number): void {
    this.stopPolling();
    this.poll = setInterval(
      () => {
        this.load().catch((error: unknown) => this.logger.error({ err: error }, 'the users could not be read again'));
      },
      Math.max(intervalMs, 1000)
    );
    this.poll.unref();
  }

  stopPolling(): void {
    if (this.poll !== undefined) clearInterval(this.poll);
    this.poll = undefined;
  }

  async row(username: string): Promise<UserRow | undefined> {
    return (await this.adapter().find(rowId(username))) as UserRow | undefined;
  }

  /** Every row, by user name. */
  async rows(): Promise<Map<string, UserRow>> {
    const rows = await this.store.list(DEPLOYMENT, USER_MODEL);
    return new Map(rows.map(({ id, payload }) => [id, payload as UserRow]));
  }

  /** Saves (part of) a user's row, then tells every replica. */
  async update(username: string, change: (row: UserRow) => UserRow): Promise<UserRow> {
    const id = rowId(username);
    const next = change({ ...((await this.adapter().find(id)) as UserRow | undefined) });
    await this.adapter().upsert(id, next as Record<string, unknown>);
    await this.load();
    await this.cluster.broadcast({ type: 'users.changed' });
    return next;
  }

  /**
   * Notes a sign-in's time for administrators. Display only: nothing reads it on the way of a call,
   * so the other replicas are not told (they read it with the next change).
   */
  async noteSignIn(username: string, now = Date.now()): Promise<void> {
    const id = rowId(username);
    const row = (await this.adapter().find(id)) as UserRow | undefined;
    await this.adapter().upsert(id, { ...row, lastSignInAt: now });
  }

  /** Disables or enables an account (configured or created), effective on the next call on every replica. */
  async setDisabled(username: string, disabled: boolean, by: string, now = Date.now()): Promise<void> {
    await this.update(username, row => {
      const { disabledBy: _by, disabledAt: _at, ...rest } = row;
      return disabled ? { ...rest, disabled: true, disabledBy: by, disabledAt: now } : { ...rest, disabled: false };
    });
  }

  /** Seals a provider's refresh token for this user's row. */
  sealUpstreamToken(username: string, token: string): string {
    return this.store.keyedHash.seal(sealSecret(username), 'upstream-refresh-token', token);
  }

  /** The provider's refresh token kept for this user, if any. */
  async upstreamToken(username: string): Promise<string | undefined> {
    const sealed = (await this.row(username))?.upstreamRefreshToken;
    return sealed === undefined
      ? undefined
      : this.store.keyedHash.open(sealSecret(username), 'upstream-refresh-token', sealed);
  }

  private adapter() {
    return this.store.adapter(DEPLOYMENT, USER_MODEL);
  }
}

function rowId(username: string): string {
  return username.normalize('NFC').toLowerCase();
}

function sealSecret(username: string): string {
  return `upstream-refresh-token:${rowId(username)}`;
}
