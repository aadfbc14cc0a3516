import { rotateSigningKey } from '../../auth/server/keys.ts';
import { openConfiguredAuthStore, type ConfiguredAuthStore } from '../../auth/storage/open-store.ts';
import type { LoadedConfig } from '../../config/load.ts';
import { createLogger } from '../../observability/logger.ts';
import type { CliIo } from '../io.ts';
import { requireEnvironments } from './environments.ts';

/**
 * `sqlbridge rotate-keys [--env NAME]`: a new ES256 signing key for each environment's authorization
 * server (or one), first in `<dataDir>/auth/<env>.keys.json` — or, with `auth.storage` in Redis, in
 * the keys every replica shares there; the two previous keys stay so that tokens they signed still
 * verify. With Redis every running replica is told and signs with it at once; otherwise a SIGHUP (or
 * a restart) makes sqlbridge read its keys again.
 */
export async function rotateKeysCommand(
  loaded: LoadedConfig,
  environment: string | undefined,
  io: CliIo
): Promise<number> {
  const config = requireEnvironments(loaded);
  const names = environment === undefined ? Object.keys(config.environments) : [environment];
  const unknown = names.find(name => !(name in config.environments));
  if (unknown !== undefined) {
    io.err(`sqlbridge: there is no environment named ${JSON.stringify(unknown)}`);
    return 2;
  }
  // Only a shared store holds keys; a SQLite or memory store is not opened for this.
  let store: ConfiguredAuthStore | undefined;
  if (/^rediss?:/i.test(config.auth.storage)) {
    store = await openConfiguredAuthStore({
      dataDir: config.dataDir,
      storage: config.auth.storage,
      password: config.auth.storagePassword,
      logger: createLogger('silent')
    });
  }
  try {
    for (const name of names) {
      const key = await rotateSigningKey(config.dataDir, name, 3, store?.shared);
      io.out(
        store === undefined
          ? `${name}: new signing key ${key.kid ?? ''}; send SIGHUP to sqlbridge (or restart it) to sign with it`
          : `${name}: new signing key ${key.kid ?? ''}; the running replicas sign with it now`
      );
    }
    // Every replica listening reloads its keys.
    await store?.cluster.broadcast({ type: 'keys.rotated', environments: names });
  } finally {
    await store?.close();
  }
  return 0;
}
