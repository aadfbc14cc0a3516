import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

/** deploy/compose/ as docker compose reads it: its files, `.env` variables and `${VAR}` references. */

export const COMPOSE_DIR = fileURLToPath(new URL('../../deploy/compose/', import.meta.url));
export const COMPOSE_FILES = ['docker-compose.yml', 'docker-compose.per-environment.yml'] as const;

export interface ComposeService {
  build?: { context: string; dockerfile: string };
  command?: string[];
  entrypoint?: string[];
  stop_grace_period?: string;
  /** YAML may give a number or a boolean where docker compose passes its text. */
  environment?: Record<string, string | number | boolean>;
  secrets?: string[];
  volumes?: string[];
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  secrets?: Record<string, { file: string }>;
}

export function readComposeFile(name: string): ComposeFile {
  return parse(readFileSync(join(COMPOSE_DIR, name), 'utf8'), { merge: true }) as ComposeFile;
}

/** The variables of an env file (`KEY=value`, `KEY='value'`), as docker compose reads them. */
export function readEnvFile(path: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim());
    if (match === null) continue;
    const raw = match[2]!;
    values[match[1]!] = /^'.*'$/.test(raw) || /^".*"$/.test(raw) ? raw.slice(1, -1) : raw;
  }
  return values;
}

const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}/g;

/** The `${VAR}` names a compose or configuration text uses (`$$` is compose's escaped dollar, not a reference). */
export function referencedVariables(text: string): Set<string> {
  return new Set([...text.replaceAll('$$', '').matchAll(REFERENCE)].map(match => match[1]!));
}

/** `${VAR}` and `${VAR:-default}` replaced as docker compose does; throws on a variable that is not set. */
export function substitute(text: string, variables: Record<string, string>): string {
  return text.replace(REFERENCE, (_all, name: string, fallback: string | undefined) => {
    const value = variables[name];
    if (value !== undefined && value !== '') return value;
    if (fallback !== undefined) return fallback;
    throw new Error(`\${${name}} is not set`);
  });
}
