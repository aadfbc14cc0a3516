import type { AuthorizationServers } from '../../auth/authorization-servers.ts';
import { configLoaded } from '../../audit/lifecycle.ts';
import type { AuditTrail } from '../../audit/trail.ts';
import type { Cluster } from '../../cluster/cluster.ts';
import type { LoadedConfig } from '../../config/load.ts';
import type { Config } from '../../config/schema.ts';
import type { Logger } from '../../observability/logger.ts';
import { isPlainObject } from '../../plain-object.ts';

/**
 * Reloading the configuration while serving: on SIGHUP the file (and the environment variables and
 * files it names) is read again and its users (`auth.users`: added, removed, disabled, their
 * scopes, environments and attributes, and the `auth.groups` that give them theirs) take effect at once; a reloaded replica then tells the
 * others, which read their own copy of the file, so that a user disabled through one replica is
 * refused by all of them. Signing keys rotated in the data directory (`sqlbridge rotate-keys`) are
 * read again too. Every other setting takes effect at the next start, and the log says
 * which changed. A file that no longer loads (or that `load` refuses: serve.ts refuses one a server
 * could not start with) changes nothing: the error is logged, the server carries on as it was.
 */

/** What made a server reload: a signal to it, another replica's reload, or messages it may have missed (`resync`). */
export type ReloadTrigger = 'SIGHUP' | 'replica' | 'resync';

export interface ReloadOptions {
  load: () => LoadedConfig;
  running: Config;
  auth: AuthorizationServers | undefined;
  cluster: Cluster;
  audit: AuditTrail;
  logger: Logger;
}

/** Reloads on SIGHUP and when another replica reloaded, until the returned function is called. */
export function reloadOnSignal(options: ReloadOptions): () => void {
  const onSignal = (): void => {
    reload(options, 'SIGHUP');
  };
  process.on('SIGHUP', onSignal);
  let stopped = false;
  options.cluster.on('config.reloaded', () => {
    if (!stopped) reload(options, 'replica');
  });
  options.cluster.onResync(() => {
    if (!stopped) reload(options, 'resync');
  });
  return () => {
    stopped = true;
    process.off('SIGHUP', onSignal);
  };
}

export function reload(options: ReloadOptions, trigger: ReloadTrigger): void {
  const { logger, audit } = options;
  let loaded: LoadedConfig;
  try {
    loaded = options.load();
  } catch (error) {
    logger.error(
      { trigger, problem: error instanceof Error ? error.message : String(error) },
      'configuration not reloaded: it does not load; the server carries on with the one it has'
    );
    logger.flush();
    audit.record({ event: 'config.loaded', outcome: 'failed', errorClass: 'config_invalid', detail: { trigger } });
    return;
  }
  const reloaded = options.auth?.reloadUsers(loaded.config);
  if (options.auth !== undefined && reloaded !== undefined && reloaded.removed.length > 0) {
    endGrantsOfRemovedUsers(options.auth, audit, logger, reloaded.removed);
  }
  // Keys rotated with `sqlbridge rotate-keys` in the data directory are signed with from now on.
  options.auth?.reloadKeys().catch((error: unknown) => {
    logger.error({ err: error }, 'the signing keys could not be read again');
  });
  const needsRestart = settingsAwaitingRestart(options.running, loaded.config);
  logger.info({ trigger, ...(reloaded === undefined ? {} : { users: reloaded.users }) }, 'configuration reloaded');
  if (needsRestart.length > 0) {
    logger.warn(
      { settings: needsRestart },
      `changed settings take effect at the next start (only auth.users and auth.groups are reloaded): ${needsRestart.join(', ')}`
    );
  }
  // Whoever sent the signal is waiting for these lines.
  logger.flush();
  const entry = configLoaded(loaded);
  audit.record({ ...entry, detail: { ...entry.detail, trigger } });
  if (trigger === 'SIGHUP') {
    options.cluster.broadcast({ type: 'config.reloaded' }).catch((error: unknown) => {
      logger.error({ err: error }, 'the other replicas could not be told of the reload');
    });
  }
}

/**
 * Ends the grants of users the configuration no longer has (or, without `usernames`, of every
 * account no user has), in the background: a user configured again later under the same name
 * signs in afresh instead of finding the old tokens valid again. Every replica that reloads does
 * it; the first ends them, the others find nothing left.
 */
export function endGrantsOfRemovedUsers(
  auth: AuthorizationServers,
  audit: AuditTrail,
  logger: Logger,
  usernames?: readonly string[]
): void {
  // Loaded only with OAuth on, as the authorization servers are (its key handling imports jose).
  import('../../admin/admin-service.ts')
    .then(async ({ AdminService }) => AdminService.forServers(auth, audit).endGrantsOfRemovedUsers(usernames))
    .then(
      ended => {
        if (ended.length > 0) logger.info({ grants: ended.length }, 'the grants of users no longer configured ended');
      },
      (error: unknown) => {
        logger.error({ err: error }, 'the grants of users no longer configured could not be ended');
      }
    );
}

/** The settings that differ between the running configuration and a reloaded one, other than what a reload applies. */
export function settingsAwaitingRestart(running: Config, reloaded: Config): string[] {
  return changedSettings(withoutUsers(running), withoutUsers(reloaded));
}

/** The configuration without what a reload applies: the users and the groups that give them access. */
function withoutUsers(config: Config): unknown {
  return { ...config, auth: { ...config.auth, users: undefined, groups: undefined } };
}

/** The paths (at most three levels deep, never values) where two configurations differ. */
export function changedSettings(before: unknown, after: unknown, path = '', depth = 0): string[] {
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  if (depth >= 3 || !isPlainObject(before) || !isPlainObject(after)) return [path === '' ? '(everything)' : path];
  const names = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  return names.flatMap(name =>
    changedSettings(before[name], after[name], path === '' ? name : `${path}.${name}`, depth + 1)
  );
}
