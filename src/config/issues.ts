import type * as z from 'zod';
import type { ConfigProblem } from '../errors/config-error.ts';
import { isPlainObject, ownMember } from '../plain-object.ts';

/**
 * Turns zod issues into problems a person can act on: the exact setting, where its value came from,
 * what is wrong, what was received (never for secrets) and, for a misspelt key, the likely intended one.
 */

const SECRET_KEY = /password|secret|token|connectionstring|^url$/i;

export function toProblems(
  issues: readonly z.core.$ZodIssue[],
  input: unknown,
  provenance: ReadonlyMap<string, string>,
  knownKeys: (path: readonly PropertyKey[]) => readonly string[]
): ConfigProblem[] {
  return issues.map(issue => {
    const path = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      const key = issue.keys[0] ?? '';
      const setting = [...path, key].join('.');
      const suggestion = closest(key, knownKeys(issue.path));
      const extra = issue.keys.length > 1 ? ` (and ${issue.keys.slice(1).join(', ')})` : '';
      return {
        setting,
        source: sourceOf(provenance, [...path, key]),
        problem: `unknown setting${extra}${suggestion === undefined ? '' : `; did you mean "${suggestion}"?`}`
      };
    }
    const setting = path.length === 0 ? '(root)' : path.join('.');
    return { setting, source: sourceOf(provenance, path), problem: describeIssue(issue, valueAt(input, path), path) };
  });
}

function describeIssue(issue: z.core.$ZodIssue, value: unknown, path: readonly string[]): string {
  const got = describeValue(value, path);
  switch (issue.code) {
    case 'invalid_type':
      if (value === undefined) return 'is required';
      return `expected ${article(issue.expected)}, got ${got}`;
    case 'too_small':
      if (issue.origin === 'string') return 'must not be empty';
      if (issue.origin === 'array') return `must list at least ${String(issue.minimum)} item(s)`;
      return `must be at least ${String(issue.minimum)}, got ${got}`;
    case 'too_big':
      if (issue.origin === 'string') return `must be at most ${String(issue.maximum)} characters long`;
      return `must be at most ${String(issue.maximum)}, got ${got}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map(v => JSON.stringify(v)).join(', ')}; got ${got}`;
    case 'invalid_format':
      if (issue.format === 'url') return `must be an http:// or https:// URL, got ${got}`;
      return `${issue.message}; got ${got}`;
    case 'invalid_union': {
      const discriminator = path.at(-1);
      if (discriminator === 'engine') {
        const choices = '"demo", "sqlite", "postgres", "mysql", "mssql"';
        return value === undefined ? `is required: one of ${choices}` : `must be one of ${choices}; got ${got}`;
      }
      return `${issue.message}; got ${got}`;
    }
    case 'invalid_key': {
      const inner = issue.issues[0]?.message ?? issue.message;
      return `invalid name "${path.at(-1) ?? ''}": ${inner}`;
    }
    default:
      return issue.message;
  }
}

function article(expected: string): string {
  const names: Record<string, string> = {
    number: 'a number',
    int: 'a whole number',
    string: 'text',
    boolean: 'true or false',
    object: 'a mapping of settings',
    array: 'a list',
    record: 'a mapping of names to settings'
  };
  return names[expected] ?? expected;
}

/**
 * Text shown in no message: a user name and password before an `@`, a parameter (`password=…`), or
 * a URL-like text naming a secret or broken by a space.
 */
function mayHoldPassword(text: string): boolean {
  return /[@=]/.test(text) || (text.includes(':') && /\s|pass|secret|token|credential/i.test(text));
}

function describeValue(value: unknown, path: readonly string[]): string {
  if (value === undefined) return 'nothing';
  if (SECRET_KEY.test(path.at(-1) ?? '')) return 'a value (not shown: it may be secret)';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') {
    // A mistyped URL may still hold a password (`redis//:pw@host`, `redis:/host?password=pw`).
    if (mayHoldPassword(value)) return 'a value (not shown: it may hold a password)';
    const text = JSON.stringify(value);
    return `the text ${text.length > 60 ? `${text.slice(0, 57)}…` : text}`;
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return typeof value;
}

function valueAt(input: unknown, path: readonly string[]): unknown {
  let node = input;
  for (const key of path) {
    if (Array.isArray(node)) node = node[Number(key)];
    else if (isPlainObject(node)) node = ownMember(node, key);
    else return undefined;
  }
  return node;
}

/** The recorded source of a setting, or of its nearest ancestor. */
function sourceOf(provenance: ReadonlyMap<string, string>, path: readonly string[]): string | undefined {
  for (let n = path.length; n >= 0; n--) {
    const found = provenance.get(path.slice(0, n).join('.'));
    if (found !== undefined) return found;
  }
  return undefined;
}

/** The known key closest to a misspelt one, when one is close enough to be a plausible typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = levenshtein(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function levenshtein(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
