import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { ConfigError } from '../errors/config-error.ts';
import { DEMO_FILE } from '../demo/demo-file.ts';
import { isPlainObject, ownMember, setOwnMember } from '../plain-object.ts';
import { safeParseOnce } from '../zod-setup.ts';
import { CONFIG_FILE_VARIABLE, ENV_VARS, ENVIRONMENT_NAME_VARIABLE, IGNORED_ENV_VARS } from './env-vars.ts';
import { closest, toProblems } from './issues.ts';
import { configSchema, type Config, type ConfigInput } from './schema.ts';
import { keysAt } from './schema-walk.ts';
import { emptyLayer, envLayer, fileLayer, setPath, type Environment, type Layer, type RawObject } from './sources.ts';

/** Values given on the command line. They override the file and the environment. */
export interface CliOverrides {
  config?: string | undefined;
  host?: string | undefined;
  port?: string | undefined;
  dataDir?: string | undefined;
  logLevel?: string | undefined;
  /** `--no-auth`: serve HTTP without OAuth (loopback only). */
  noAuth?: boolean | undefined;
}

export interface LoadOptions {
  cli: CliOverrides;
  env: Environment;
  cwd: string;
  /** Serve only the embedded demo environment (the `demo` command, `--demo`). */
  demo?: boolean;
}

export interface LoadedConfig {
  config: Config;
  configFile: string | undefined;
  /** Things worth a warning at start-up that do not stop it. */
  notices: string[];
}

export const DEMO_ENVIRONMENT: NonNullable<ConfigInput['environments']>[string] = {
  description:
    'Demo data of an online retailer: customers, products and categories, orders 2023 to today, payment attempts, marketing spend by region and channel.',
  readOnly: true,
  database: { engine: 'demo' }
};

/** Loads the configuration: defaults < YAML file < environment variables < CLI flags. Throws ConfigError. */
export function loadConfig(options: LoadOptions): LoadedConfig {
  const { env, cwd, cli } = options;
  const fileOption = cli.config ?? env[CONFIG_FILE_VARIABLE];
  const configFile = fileOption === undefined || fileOption === '' ? undefined : resolve(cwd, fileOption);
  const notices: string[] = [];

  const layers: Layer[] = [];
  if (configFile !== undefined) layers.push(fileLayer(configFile, env));
  layers.push(envLayer(env, layers[0]?.values));
  layers.push(cliLayer(cli));

  const merged: RawObject = {};
  const provenance = new Map<string, string>();
  for (const layer of layers) {
    deepMerge(merged, layer.values);
    for (const [path, source] of layer.provenance) provenance.set(path, source);
  }
  if (options.demo === true) {
    merged['environments'] = { demo: structuredClone(DEMO_ENVIRONMENT) };
  }

  checkOriginalGuideVariables(env, notices);
  checkUnknownVariables(env, layers[0]?.variables, notices);
  const reserved = reservedKey(merged, []);
  if (reserved !== undefined) {
    throw ConfigError.single(
      reserved.join('.'),
      'is not a setting or a name sqlbridge accepts (`__proto__` is reserved)',
      provenance.get(reserved.join('.')) ?? provenance.get(reserved.slice(0, -1).join('.'))
    );
  }

  const parsed = safeParseOnce(configSchema, merged);
  if (!parsed.success) {
    throw new ConfigError(
      toProblems(parsed.error.issues, merged, provenance, path => keysAt(configSchema, path, merged))
    );
  }
  const config = resolvePaths(parsed.data, cwd, configFile);
  checkAuditFile(config, provenance.get('audit.file.path'));
  return { config: deepFreeze(config), configFile, notices };
}

function cliLayer(cli: CliOverrides): Layer {
  const layer = emptyLayer();
  const set = (path: string[], value: unknown, flag: string): void => {
    setPath(layer.values, path, value);
    layer.provenance.set(path.join('.'), flag);
  };
  if (cli.host !== undefined) set(['server', 'host'], cli.host, '--host');
  if (cli.port !== undefined) {
    if (!/^\d+$/.test(cli.port))
      throw ConfigError.single('server.port', `expected a whole number, got ${JSON.stringify(cli.port)}`, '--port');
    set(['server', 'port'], Number(cli.port), '--port');
  }
  if (cli.dataDir !== undefined) set(['dataDir'], cli.dataDir, '--data-dir');
  if (cli.logLevel !== undefined) set(['logLevel'], cli.logLevel, '--log-level');
  if (cli.noAuth === true) set(['auth', 'enabled'], false, '--no-auth');
  return layer;
}

/** The original guide's variables that sqlbridge does not use: a notice, or an error where ignoring would mislead. */
function checkOriginalGuideVariables(env: Environment, notices: string[]): void {
  const trusted = env['Trusted_Connection'];
  if (trusted !== undefined && /^(yes|true|1|sspi)$/i.test(trusted.trim())) {
    throw ConfigError.single(
      'Trusted_Connection',
      IGNORED_ENV_VARS['Trusted_Connection'] ?? 'not supported',
      'Trusted_Connection'
    );
  }
  if (env['MSSQL_DRIVER'] !== undefined)
    notices.push(`MSSQL_DRIVER is ignored: ${IGNORED_ENV_VARS['MSSQL_DRIVER'] ?? ''}`);
}

/**
 * A `SQLBRIDGE_` variable sqlbridge does not read, and the configuration file does not refer to: most
 * likely a typo (`SQLBRIDGE_MAX_ROW`) that would otherwise be silently ignored.
 */
function checkUnknownVariables(env: Environment, referenced: ReadonlySet<string> | undefined, notices: string[]): void {
  const prefix = 'SQLBRIDGE_';
  const known = new Set([...ENV_VARS.map(spec => spec.name), CONFIG_FILE_VARIABLE, ENVIRONMENT_NAME_VARIABLE]);
  // Compared without the prefix they share, which would make any two names look alike.
  const knownSuffixes = [...known].filter(other => other.startsWith(prefix)).map(other => other.slice(prefix.length));
  // A `<NAME>_FILE` twin is read for the variables of ENV_VARS and `${NAME}` references, not for
  // SQLBRIDGE_CONFIG or SQLBRIDGE_ENVIRONMENT, which are read as they are.
  const fileTwins = new Set(ENV_VARS.map(spec => spec.name));
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith(prefix)) continue;
    const base = name.endsWith('_FILE') ? name.slice(0, -'_FILE'.length) : undefined;
    const variable = base !== undefined && (fileTwins.has(base) || referenced?.has(base) === true) ? base : name;
    if (known.has(variable) || referenced?.has(variable) === true || referenced?.has(name) === true) continue;
    if (base !== undefined && known.has(base)) {
      notices.push(`${name} is set but is not a variable sqlbridge reads: give ${base} itself`);
      continue;
    }
    const near = closest(variable.slice(prefix.length), knownSuffixes);
    const suggestion = near === undefined ? undefined : `${prefix}${near}`;
    notices.push(
      `${name} is set but is not a variable sqlbridge reads${suggestion === undefined ? '' : `; did you mean ${suggestion}?`}`
    );
  }
}

function deepMerge(target: RawObject, source: RawObject): void {
  for (const [key, value] of Object.entries(source)) {
    // Own members only: a key `__proto__` in a file or variable names a setting, never Object.prototype.
    const existing = ownMember(target, key);
    if (isPlainObject(existing) && isPlainObject(value)) deepMerge(existing, value);
    else setOwnMember(target, key, isPlainObject(value) ? structuredClone(value) : value);
  }
}

/**
 * The audit trail's file must not be a file sqlbridge keeps state in: rotating it would move that file
 * aside (the demo database, an environment's SQLite file) and appending would corrupt it (the OAuth
 * store under `auth/`). Files outside the data directory are the operator's to choose.
 */
function checkAuditFile(config: Config, source: string | undefined): void {
  if (!config.audit.file.enabled) return;
  const file = resolve(config.dataDir, config.audit.file.path);
  const authDir = join(config.dataDir, 'auth');
  if (file === authDir || file.startsWith(`${authDir}${sep}`)) {
    throw ConfigError.single(
      'audit.file.path',
      'is inside the data directory’s auth folder, which holds the OAuth state',
      source
    );
  }
  const taken = new Map<string, string>([[join(config.dataDir, DEMO_FILE), 'the demo database']]);
  if (config.audit.database?.engine === 'sqlite') {
    taken.set(resolve(config.dataDir, config.audit.database.path), 'the audit table’s SQLite file');
  }
  for (const [name, environment] of Object.entries(config.environments)) {
    const database = environment.database;
    if (database.engine !== 'sqlite') continue;
    taken.set(database.path, `the SQLite database of environment ${name}`);
    for (const path of Object.values(database.attach)) taken.set(path, `a SQLite file environment ${name} attaches`);
  }
  const what = taken.get(file);
  if (what !== undefined)
    throw ConfigError.single('audit.file.path', `is ${what}; give the audit trail a file of its own`, source);
}

/**
 * The path of the first key `__proto__` in the merged input. The schema would drop it silently from a
 * map (an environment so named would vanish) or call it an unknown setting; either way it is named here.
 */
function reservedKey(node: unknown, path: string[]): string[] | undefined {
  if (Array.isArray(node)) {
    for (const [i, item] of node.entries()) {
      const found = reservedKey(item, [...path, String(i)]);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (!isPlainObject(node)) return undefined;
  for (const key of Object.keys(node)) {
    if (key === '__proto__') return [...path, key];
    const found = reservedKey(ownMember(node, key), [...path, key]);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** dataDir is relative to the working directory; a SQLite path to the configuration file's directory. */
function resolvePaths(config: Config, cwd: string, configFile: string | undefined): Config {
  const base = configFile === undefined ? cwd : dirname(configFile);
  const environments: Config['environments'] = {};
  for (const [name, environment] of Object.entries(config.environments)) {
    const database = environment.database;
    const absolute = (path: string): string => (isAbsolute(path) ? path : resolve(base, path));
    environments[name] =
      database.engine === 'sqlite'
        ? {
            ...environment,
            database: {
              ...database,
              path: absolute(database.path),
              attach: Object.fromEntries(
                Object.entries(database.attach).map(([schema, path]) => [schema, absolute(path)])
              )
            }
          }
        : environment;
  }
  return { ...config, dataDir: resolve(cwd, config.dataDir), environments };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}
