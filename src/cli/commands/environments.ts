import type { LoadedConfig } from '../../config/load.ts';
import type { Config } from '../../config/schema.ts';
import { ConfigError } from '../../errors/config-error.ts';

/** Commands that serve something need at least one environment. */
export function requireEnvironments(loaded: LoadedConfig): Config {
  if (Object.keys(loaded.config.environments).length === 0) {
    throw ConfigError.single(
      'environments',
      'no environment is configured: give a configuration file (--config), set a database with environment variables (e.g. MSSQL_HOST), or run `sqlbridge demo`'
    );
  }
  return loaded.config;
}

/** The one environment `stdio` serves: the one named by --env, or the only one configured. */
export function selectEnvironment(config: Config, name: string | undefined): Config {
  const names = Object.keys(config.environments);
  const chosen = name ?? (names.length === 1 ? names[0] : undefined);
  if (chosen === undefined) {
    throw ConfigError.single(
      '--env',
      `several environments are configured (${names.join(', ')}); choose one with --env`
    );
  }
  const environment = config.environments[chosen];
  if (environment === undefined) {
    throw ConfigError.single('--env', `no environment named "${chosen}" (configured: ${names.join(', ')})`);
  }
  return { ...config, environments: { [chosen]: environment } };
}
