import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import { isTrue, printValue, type GoFunction } from './go-template.ts';

/**
 * The template functions the chart in deploy/helm uses, each written to behave as Go's text/template builtins
 * (https://pkg.go.dev/text/template#hdr-Functions), sprig's (https://masterminds.github.io/sprig/) or Helm's own
 * (https://helm.sh/docs/chart_template_guide/function_list/). Arguments of the wrong Go type are errors, as there.
 */

class TemplateFailure extends Error {}

/** An error raised by `fail` or `required`: Helm stops the render with its message. */
export function isTemplateFailure(error: unknown): error is Error {
  return error instanceof TemplateFailure;
}

function arity(name: string, args: readonly unknown[], count: number): void {
  if (args.length !== count) throw new Error(`${name} takes ${count} arguments, got ${args.length}`);
}

function text(name: string, value: unknown): string {
  if (typeof value !== 'string') throw new Error(`${name}: expected a string, got ${describe(value)}`);
  return value;
}

function goInt(name: string, value: unknown): number {
  if (typeof value !== 'bigint') throw new Error(`${name}: expected an int, got ${describe(value)}`);
  return Number(value);
}

function describe(value: unknown): string {
  if (value === undefined || value === null) return 'nil';
  if (typeof value === 'number') return 'float64';
  if (typeof value === 'bigint') return 'int';
  if (Array.isArray(value)) return 'list';
  return typeof value === 'object' ? 'map' : typeof value;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** sprig's strval: strings as they are, anything else as Go's %v prints it. */
function stringValue(value: unknown): string {
  return printValue(value);
}

/** Go's strconv.Quote for the characters a chart's values hold; control characters as \x escapes. */
function goQuote(value: string): string {
  const named: Record<string, string> = { '\\': '\\\\', '"': '\\"', '\n': '\\n', '\t': '\\t', '\r': '\\r' };
  let out = '"';
  for (const character of value) {
    const code = character.charCodeAt(0);
    const escaped =
      named[character] ?? (code < 0x20 || code === 0x7f ? `\\x${code.toString(16).padStart(2, '0')}` : undefined);
    out += escaped ?? character;
  }
  return `${out}"`;
}

/** Go's comparison of two basic values (eq, ne, gt): the same kind on both sides, or an error. */
function compare(name: string, left: unknown, right: unknown): number {
  const kind = describe(left);
  if (kind !== describe(right))
    throw new Error(`${name}: incompatible types for comparison (${kind}, ${describe(right)})`);
  if (kind === 'string' || kind === 'float64' || kind === 'int') {
    const a = left as string | number | bigint;
    const b = right as string | number | bigint;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  if (kind === 'boolean' || kind === 'nil') {
    if (name !== 'eq' && name !== 'ne') throw new Error(`${name}: invalid type for comparison`);
    return left === right ? 0 : 1;
  }
  throw new Error(`${name}: cannot compare ${kind} values`);
}

/** sigs.k8s.io/yaml's Marshal as Helm's toYaml uses it: a JSON round trip, sorted keys, YAML 1.1 quoting. */
function toYaml(value: unknown): string {
  const json = JSON.parse(
    JSON.stringify(value ?? null, (_key, item: unknown) => (typeof item === 'bigint' ? Number(item) : item))
  );
  return stringify(json, { version: '1.1', sortMapEntries: true, indentSeq: false, lineWidth: 0 }).replace(/\n$/, '');
}

/** mergo's Merge with WithOverride, as sprig's mergeOverwrite: nested maps merge, an empty source value is skipped. */
function mergeInto(target: Record<string, unknown>, source: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(source)) {
    const existing = target[key];
    if (isMap(existing) && isMap(value)) mergeInto(existing, value);
    else if (isTrue(value)) target[key] = value;
  }
}

function lazy(name: string, args: readonly unknown[]): (() => unknown)[] {
  if (args.length === 0) throw new Error(`${name} needs arguments`);
  return args.map(arg => {
    if (typeof arg !== 'function') throw new Error(`${name}: arguments must be evaluated lazily`);
    return arg as () => unknown;
  });
}

export const HELM_FUNCTIONS: Readonly<Record<string, GoFunction>> = {
  and: (_context, args) => {
    let value: unknown;
    for (const next of lazy('and', args)) {
      value = next();
      if (!isTrue(value)) return value;
    }
    return value;
  },
  or: (_context, args) => {
    let value: unknown;
    for (const next of lazy('or', args)) {
      value = next();
      if (isTrue(value)) return value;
    }
    return value;
  },
  not: (_context, args) => {
    arity('not', args, 1);
    return !isTrue(args[0]);
  },
  eq: (_context, args) => {
    arity('eq', args, 2);
    return compare('eq', args[0], args[1]) === 0;
  },
  ne: (_context, args) => {
    arity('ne', args, 2);
    return compare('ne', args[0], args[1]) !== 0;
  },
  gt: (_context, args) => {
    arity('gt', args, 2);
    return compare('gt', args[0], args[1]) > 0;
  },
  printf: (_context, args) => {
    const [format, ...values] = args;
    let next = 0;
    const out = text('printf', format).replace(/%([%sdvq])/g, (_all, verb: string) => {
      if (verb === '%') return '%';
      if (next >= values.length) throw new Error('printf: missing argument');
      const value = values[next++];
      if (verb === 's') return text('printf %s', value);
      if (verb === 'd') return String(goInt('printf %d', value));
      if (verb === 'q') return goQuote(text('printf %q', value));
      return printValue(value);
    });
    if (/%[^%sdvq]/.test(text('printf', format))) throw new Error('printf: only %s, %d, %v, %q and %% are supported');
    if (next !== values.length) throw new Error('printf: too many arguments');
    return out;
  },
  // sprig
  default: (_context, args) => {
    if (args.length !== 1 && args.length !== 2) throw new Error('default takes 1 or 2 arguments');
    return args.length === 2 && isTrue(args[1]) ? args[1] : args[0];
  },
  quote: (_context, args) =>
    args
      .filter(value => value !== undefined && value !== null)
      .map(value => goQuote(stringValue(value)))
      .join(' '),
  toYaml: (_context, args) => {
    arity('toYaml', args, 1);
    return toYaml(args[0]);
  },
  indent: (_context, args) => {
    arity('indent', args, 2);
    const pad = ' '.repeat(goInt('indent', args[0]));
    return pad + text('indent', args[1]).replaceAll('\n', `\n${pad}`);
  },
  nindent: (_context, args) => {
    arity('nindent', args, 2);
    const pad = ' '.repeat(goInt('nindent', args[0]));
    return `\n${pad}${text('nindent', args[1]).replaceAll('\n', `\n${pad}`)}`;
  },
  sha256sum: (_context, args) => {
    arity('sha256sum', args, 1);
    return createHash('sha256').update(text('sha256sum', args[0])).digest('hex');
  },
  trunc: (_context, args) => {
    arity('trunc', args, 2);
    const length = goInt('trunc', args[0]);
    const value = text('trunc', args[1]);
    if (Buffer.byteLength(value) !== value.length)
      throw new Error('trunc: only ASCII text is supported (Go cuts bytes)');
    return length >= 0 ? value.slice(0, length) : value;
  },
  trimSuffix: (_context, args) => {
    arity('trimSuffix', args, 2);
    const suffix = text('trimSuffix', args[0]);
    const value = text('trimSuffix', args[1]);
    return suffix !== '' && value.endsWith(suffix) ? value.slice(0, -suffix.length) : value;
  },
  contains: (_context, args) => {
    arity('contains', args, 2);
    return text('contains', args[1]).includes(text('contains', args[0]));
  },
  hasPrefix: (_context, args) => {
    arity('hasPrefix', args, 2);
    return text('hasPrefix', args[1]).startsWith(text('hasPrefix', args[0]));
  },
  hasKey: (_context, args) => {
    arity('hasKey', args, 2);
    const map = args[0];
    if (!isMap(map)) throw new Error(`hasKey: expected a map, got ${describe(map)}`);
    return Object.hasOwn(map, text('hasKey', args[1]));
  },
  join: (_context, args) => {
    arity('join', args, 2);
    const list = args[1];
    if (!Array.isArray(list)) throw new Error(`join: expected a list, got ${describe(list)}`);
    return list
      .filter(item => item !== undefined && item !== null)
      .map(stringValue)
      .join(text('join', args[0]));
  },
  int: (_context, args) => {
    arity('int', args, 1);
    const value = args[0];
    if (value === undefined || value === null) return 0n;
    if (typeof value === 'bigint') return value;
    if (typeof value === 'number') return BigInt(Math.trunc(value));
    if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value);
    throw new Error(`int: cannot convert ${describe(value)}`);
  },
  dict: (_context, args) => {
    if (args.length % 2 !== 0) throw new Error('dict needs pairs of key and value');
    const map: Record<string, unknown> = {};
    for (let i = 0; i < args.length; i += 2) map[text('dict key', args[i])] = args[i + 1];
    return map;
  },
  deepCopy: (_context, args) => {
    arity('deepCopy', args, 1);
    return structuredClone(args[0]);
  },
  mergeOverwrite: (_context, args) => {
    const [target, ...sources] = args;
    if (!isMap(target)) throw new Error(`mergeOverwrite: expected a map, got ${describe(target)}`);
    for (const source of sources) {
      if (!isMap(source)) throw new Error(`mergeOverwrite: expected a map, got ${describe(source)}`);
      mergeInto(target, source);
    }
    return target;
  },
  required: (_context, args) => {
    arity('required', args, 2);
    const value = args[1];
    if (value === undefined || value === null || value === '') throw new TemplateFailure(text('required', args[0]));
    return value;
  },
  fail: (_context, args) => {
    arity('fail', args, 1);
    throw new TemplateFailure(text('fail', args[0]));
  },
  // Helm
  include: (context, args) => {
    arity('include', args, 2);
    return context.include(text('include', args[0]), args[1]);
  }
};
