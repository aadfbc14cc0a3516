import { rotateSigningKey } from '../../auth/server/keys.ts';
import type { LoadedConfig } from '../../config/load.ts';
import type { CliIo } from '../io.ts';
import { requireEnvironments } from './environments.ts';

/**
 * `sqlbridge rotate-keys [--env NAME]`: a new ES256 signing key for each environment's authorization
 * server (or one), first in `<dataDir>/auth/<env>.keys.json`; the two previous keys stay so that
 * tokens they signed still verify. Restart sqlbridge to start signing with it.
 */
export async function rotateKeysCommand(
  loaded: LoadedConfig,
  environment: string | undefined,
  io: CliIo
): Promise<number> {
  const config = requireEnvironments(loaded);
  const names = environment === undefined ? Object.keys(config.environments) : [environment];
  for (const name of names) {
    if (!(name in config.environments)) {
      io.err(`sqlbridge: there is no environment named ${JSON.stringify(name)}`);
      return 2;
    }
    const key = await rotateSigningKey(config.dataDir, name);
    io.out(`${name}: new signing key ${key.kid ?? ''}; restart sqlbridge to use it`);
  }
  return 0;
}
