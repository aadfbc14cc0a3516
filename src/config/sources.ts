import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { ConfigError, type ConfigProblem } from '../errors/config-error.ts';
import { isPlainObject, ownMember, setOwnMember } from '../plain-object.ts';
import {
  DEFAULT_VARIABLE_ENVIRONMENT,
  ENV_VARS,
  ENVIRONMENT_NAME_VARIABLE,
  type EnvValueKind,
  type EnvVarSpec
} from './env-vars.ts';

/**
 * The raw configuration layers (file, environment variables, CLI flags) before validation. Each
 * layer records where every value came from, so a validation error can name the variable, the
 * flag or the file that supplied the bad value.
 */

export type RawObject = { [key: string]: unknown };

export interface Layer {
  values: RawObject;
  /** Dotted setting path → human-readable source of that value. */
  provenance: Map<string, string>;
  /** Variables the layer's file refers to with `${VAR}` (they may have any name). */
  variables?: ReadonlySet<string>;
}

export type Environment = Readonly<Record<string, string | undefined>>;

export function emptyLayer(): Layer {
  return { values: {}, provenance: new Map() };
}

/** Sets `value` at `path`, creating objects on the way. */
export function setPath(target: RawObject, path: readonly string[], value: unknown): void {
  let node = target;
  // Own members only: a path through `__proto__` (an environment named so) names settings, never Object.prototype.
  for (const key of path.slice(0, -1)) {
    const next = ownMember(node, key);
    if (isPlainObject(next)) {
      node = next;
    } else {
      const created: RawObject = {};
      setOwnMember(node, key, created);
      node = created;
    }
  }
  const last = path.at(-1);
  if (last !== undefined) setOwnMember(node, last, value);
}

// ---------------------------------------------------------------- file

const INTERPOLATION = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** The largest configuration file, or file a `_FILE` variable names, that sqlbridge reads. */
export const MAX_SETTINGS_FILE_BYTES = 1024 * 1024;

/**
 * A regular file's text, which must be UTF-8 and at most MAX_SETTINGS_FILE_BYTES: a device such as
 * /dev/zero, a pipe that never ends or a file of gigabytes would otherwise be read until memory ran
 * out, and bytes that are not UTF-8 would be read as replacement characters into a password or a host.
 * The reason it cannot be used, when it cannot.
 */
export function readSettingsFile(path: string): { text: string } | { problem: string } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { problem: code === 'ENOENT' ? 'the file does not exist' : 'the file cannot be read' };
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return { problem: 'not a regular file' };
    if (stat.size > MAX_SETTINGS_FILE_BYTES) {
      return {
        problem: `the file holds ${stat.size} bytes, more than the ${MAX_SETTINGS_FILE_BYTES} a settings file may`
      };
    }
    // One byte more than the limit, in case the file grew since fstat.
    const buffer = Buffer.alloc(MAX_SETTINGS_FILE_BYTES + 1);
    let length = 0;
    for (;;) {
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
      if (length > MAX_SETTINGS_FILE_BYTES) {
        return { problem: `the file holds more than the ${MAX_SETTINGS_FILE_BYTES} bytes a settings file may` };
      }
    }
    try {
      return { text: new TextDecoder('utf-8', { fatal: true }).decode(buffer.subarray(0, length)) };
    } catch {
      return { problem: 'the file is not UTF-8 text' };
    }
  } catch {
    return { problem: 'the file cannot be read' };
  } finally {
    closeSync(fd);
  }
}

/** Reads a YAML configuration file, with `${VAR}` and `${VAR:-default}` taken from the environment. */
export function fileLayer(path: string, env: Environment): Layer {
  const read = readSettingsFile(path);
  if ('problem' in read) throw ConfigError.single('config', `${read.problem}: ${path}`, '--config / SQLBRIDGE_CONFIG');
  const text = read.text;
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const yamlError = doc.errors[0];
  if (yamlError !== undefined) {
    const at = yamlError.linePos?.[0];
    const where = at === undefined ? '' : ` at line ${at.line}, column ${at.col}`;
    throw ConfigError.single('config', `${path} is not valid YAML${where}: ${firstLine(yamlError.message)}`);
  }
  let parsed: unknown;
  try {
    parsed = doc.toJS();
  } catch (error) {
    // The YAML library refuses aliases that would expand the document without bound (a "billion
    // laughs"), by throwing rather than reporting.
    const reason = error instanceof Error ? firstLine(error.message) : String(error);
    throw ConfigError.single('config', `${path} cannot be read as settings: ${reason}`);
  }
  if (parsed === null || parsed === undefined) return { values: {}, provenance: new Map() };
  if (!isPlainObject(parsed)) {
    throw ConfigError.single(
      'config',
      `${path} must hold a YAML mapping (settings by name), not a ${describeKind(parsed)}`
    );
  }
  const problems: ConfigProblem[] = [];
  const values = interpolate(parsed, [], new Set(), env, path, problems) as RawObject;
  if (problems.length > 0) throw new ConfigError(problems);
  const provenance = new Map<string, string>();
  recordLeaves(values, [], path, provenance);
  const variables = new Set(Array.from(text.matchAll(INTERPOLATION), match => match[1] ?? ''));
  return { values, provenance, variables };
}

/**
 * The file's values with `${VAR}` replaced, copied into new objects: a YAML alias becomes a copy of
 * what its anchor holds, and an alias to a mapping or list that contains it (`a: &a { b: *a }`,
 * which would make a setting hold itself) is reported rather than followed for ever. `enclosing`
 * holds the mappings and lists on the way from the top to `value`.
 */
function interpolate(
  value: unknown,
  path: string[],
  enclosing: Set<object>,
  env: Environment,
  file: string,
  problems: ConfigProblem[]
): unknown {
  if (typeof value === 'string') {
    return value.replace(INTERPOLATION, (_match, name: string, fallback: string | undefined) => {
      // `${VAR}` reads VAR, or the file VAR_FILE names (a Docker or Kubernetes secret).
      const found = readVariable(name, env, problems)?.value;
      if (found !== undefined && found !== '') return found;
      if (fallback !== undefined) return fallback;
      problems.push({ setting: path.join('.'), problem: `refers to \${${name}}, which is not set`, source: file });
      return '';
    });
  }
  if (!Array.isArray(value) && !isPlainObject(value)) return value;
  if (enclosing.has(value)) {
    problems.push({
      setting: path.join('.'),
      problem: 'is a YAML alias to a mapping or list that contains it; a setting cannot hold itself',
      source: file
    });
    return undefined;
  }
  enclosing.add(value);
  const out = Array.isArray(value)
    ? value.map((item, i) => interpolate(item, [...path, String(i)], enclosing, env, file, problems))
    : Object.fromEntries(
        Object.entries(value).map(([key, item]) => [
          key,
          interpolate(item, [...path, key], enclosing, env, file, problems)
        ])
      );
  enclosing.delete(value);
  return out;
}

function recordLeaves(value: unknown, path: string[], source: string, into: Map<string, string>): void {
  into.set(path.join('.'), source);
  if (isPlainObject(value)) {
    for (const [key, item] of Object.entries(value)) recordLeaves(item, [...path, key], source, into);
  }
}

// ---------------------------------------------------------------- environment variables

export interface EnvLayerResult extends Layer {
  /** Name of the environment defined by variables, when any variable defines one. */
  variableEnvironment: string | undefined;
}

/**
 * Reads every variable in ENV_VARS (and its `_FILE` twin) into a layer. `below` holds the values of
 * the layers under this one (the file): a database variable sets the engine it implies only where
 * they set none, and one that configures another engine than theirs is refused rather than
 * silently turning, say, a PostgreSQL environment into a SQL Server one.
 */
export function envLayer(env: Environment, below: RawObject = {}): EnvLayerResult {
  const layer = emptyLayer();
  const problems: ConfigProblem[] = [];
  const environmentName = env[ENVIRONMENT_NAME_VARIABLE] ?? DEFAULT_VARIABLE_ENVIRONMENT;
  let variableEnvironment: string | undefined;
  let engineSource: { engine: string; variable: string } | undefined;

  for (const spec of ENV_VARS) {
    const raw = readVariable(spec.name, env, problems);
    if (raw === undefined) continue;
    const path = spec.path.map(part => (part === '$env' ? environmentName : part));
    const setting = configPath(spec, environmentName);
    const value = parseEnvValue(raw.value, spec.kind);
    if (value instanceof Error) {
      problems.push({ setting, problem: value.message, source: raw.source });
      continue;
    }
    if (spec.path[0] === '$env') {
      variableEnvironment = environmentName;
      setPath(layer.values, ['environments', ...path], value);
      layer.provenance.set(['environments', ...path].join('.'), raw.source);
    } else {
      setPath(layer.values, path, value);
      layer.provenance.set(path.join('.'), raw.source);
    }
    if (spec.impliesEngine !== undefined) {
      if (engineSource !== undefined && engineSource.engine !== spec.impliesEngine) {
        problems.push({
          setting: `environments.${environmentName}.database.engine`,
          problem: `${engineSource.variable} configures ${engineSource.engine} but ${spec.name} configures ${spec.impliesEngine}; one environment has one database`
        });
      }
      engineSource ??= { engine: spec.impliesEngine, variable: raw.source };
    }
  }
  if (variableEnvironment !== undefined) {
    const source = env[ENVIRONMENT_NAME_VARIABLE] === undefined ? 'environment variables' : ENVIRONMENT_NAME_VARIABLE;
    layer.provenance.set(`environments.${variableEnvironment}`, source);
  }
  if (engineSource !== undefined) {
    const path = ['environments', environmentName, 'database', 'engine'];
    const configured = valueAt(below, path);
    if (configured === undefined) {
      setPath(layer.values, path, engineSource.engine);
      layer.provenance.set(path.join('.'), engineSource.variable);
    } else if (configured !== engineSource.engine) {
      problems.push({
        setting: path.join('.'),
        problem: `${engineSource.variable} configures ${JSON.stringify(engineSource.engine)} but the file gives this environment ${JSON.stringify(configured)}; unset ${engineSource.variable} or point ${ENVIRONMENT_NAME_VARIABLE} at another environment`,
        source: engineSource.variable
      });
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { ...layer, variableEnvironment };
}

function valueAt(values: RawObject, path: readonly string[]): unknown {
  let node: unknown = values;
  for (const key of path) node = isPlainObject(node) ? node[key] : undefined;
  return node;
}

function configPath(spec: EnvVarSpec, environmentName: string): string {
  const path = spec.path.map(part => (part === '$env' ? environmentName : part));
  return (spec.path[0] === '$env' ? ['environments', ...path] : path).join('.');
}

/** A variable's value, or the content of the file its `_FILE` twin names (Docker secrets). */
function readVariable(
  name: string,
  env: Environment,
  problems: ConfigProblem[]
): { value: string; source: string } | undefined {
  const direct = env[name];
  const filePath = env[`${name}_FILE`];
  if (direct !== undefined && filePath !== undefined) {
    problems.push({ setting: name, problem: `both ${name} and ${name}_FILE are set; set only one` });
    return undefined;
  }
  if (filePath !== undefined) {
    const read = readSettingsFile(filePath);
    if ('text' in read) return { value: read.text.replace(/\r?\n$/, ''), source: `${name}_FILE` };
    problems.push({ setting: `${name}_FILE`, problem: `cannot read the file ${filePath}: ${read.problem}` });
    return undefined;
  }
  if (direct === undefined) return undefined;
  return { value: direct, source: name };
}

const TRUE_WORDS = new Set(['true', 'yes', 'on', '1']);
const FALSE_WORDS = new Set(['false', 'no', 'off', '0']);

export function parseEnvValue(raw: string, kind: EnvValueKind): unknown {
  const text = raw.trim();
  switch (kind) {
    case 'string':
    case 'secret':
      return kind === 'secret' ? raw : text;
    case 'integer':
      if (!/^-?\d+$/.test(text)) return new Error(`expected a whole number, got ${JSON.stringify(raw)}`);
      return Number(text);
    case 'boolean': {
      const lower = text.toLowerCase();
      if (TRUE_WORDS.has(lower)) return true;
      if (FALSE_WORDS.has(lower)) return false;
      return new Error(`expected true or false, got ${JSON.stringify(raw)}`);
    }
    case 'list':
      return text === ''
        ? []
        : text
            .split(',')
            .map(item => item.trim())
            .filter(item => item !== '');
  }
}

// ---------------------------------------------------------------- helpers

/** The first line of a yaml error, without the position it repeats (we state it once). */
function firstLine(message: string): string {
  return (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '');
}

function describeKind(value: unknown): string {
  if (Array.isArray(value)) return 'list';
  return typeof value;
}
