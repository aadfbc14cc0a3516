import * as z from 'zod';
import { ENV_VARS, type EnvVarSpec } from './env-vars.ts';
import { configSchema } from './schema.ts';

/**
 * Renders docs/configuration.md from the configuration schema and the table of environment
 * variables, so the reference cannot drift from what the loader accepts.
 */

interface Setting {
  path: string;
  /** The database engine whose section lists this setting, if any. */
  engine: string | undefined;
  type: string;
  defaultValue: string;
  description: string;
}

interface Section {
  title: string;
  settings: Setting[];
}

export function renderConfigReference(): string {
  const sections: Section[] = [];
  collect(configSchema, [], 'Top level', sections, undefined);
  const env = new Map<string, EnvVarSpec[]>();
  for (const spec of ENV_VARS) {
    const path = (spec.path[0] === '$env' ? ['environments', '<name>', ...spec.path.slice(1)] : spec.path).join('.');
    env.set(path, [...(env.get(path) ?? []), spec]);
  }
  // A database variable sets its setting only for the engine it configures.
  const variablesOf = (setting: Setting): string =>
    (env.get(setting.path) ?? [])
      .filter(spec => spec.impliesEngine === undefined || spec.impliesEngine === setting.engine)
      .map(spec => `\`${spec.name}\``)
      .join(', ');
  const lines = [
    '# Configuration reference',
    '',
    '<!-- Generated from src/config/schema.ts by `npm run docs:config`; do not edit by hand. -->',
    '',
    'sqlbridge reads its configuration from, in increasing priority: built-in defaults, a YAML file (`--config FILE` or',
    '`SQLBRIDGE_CONFIG`), environment variables, and command-line flags. Every setting is validated at start-up; a',
    'mistake stops sqlbridge with one message naming the setting, where its value came from and what is wrong (exit code 2).',
    '',
    'In the file, `${VAR}` and `${VAR:-default}` are replaced by environment variables, or by the content of the file',
    '`VAR_FILE` names. Every environment variable below can also be given as `<NAME>_FILE`, the path of a file holding',
    'the value (Docker and Kubernetes secrets). The file and such files must be regular files of UTF-8 text, at most',
    '1 MiB. A `SQLBRIDGE_` variable that sqlbridge does not read and the file does not refer to is reported at start-up',
    '(a warning naming the variable it most resembles): a typo is not silently ignored.',
    '',
    'Variables that configure a database define one environment, named by `SQLBRIDGE_ENVIRONMENT` (default `default`),',
    'the way one container per environment is deployed. Each belongs to one engine: `MSSQL_*`, `TrustServerCertificate`',
    'and `AZURE_*` to SQL Server, `POSTGRES_URL` to PostgreSQL, `MYSQL_URL` to MySQL and MariaDB, `SQLBRIDGE_SQLITE_PATH`',
    'to SQLite. They choose the engine of an environment the file does not define; aimed at one the file gives another',
    'engine, they stop sqlbridge with an error.',
    ''
  ];
  for (const section of sections) {
    lines.push(
      `## ${section.title}`,
      '',
      '| Setting | Type | Default | Environment variable | Description |',
      '|---|---|---|---|---|'
    );
    for (const s of section.settings) {
      lines.push(`| \`${s.path}\` | ${s.type} | ${s.defaultValue} | ${variablesOf(s)} | ${s.description} |`);
    }
    lines.push('');
  }
  lines.push(
    '## Example',
    '',
    '```yaml',
    'server:',
    '  host: 127.0.0.1',
    '  port: 8008',
    'dataDir: /var/lib/sqlbridge',
    'environments:',
    '  demo:',
    '    database: { engine: demo }',
    '  analytics:',
    '    description: Sales data warehouse (read-only replica)',
    '    database:',
    '      engine: mssql',
    '      host: sql.internal.example.com',
    '      database: Analytics',
    '      user: claude_reader',
    '      password: ${ANALYTICS_DB_PASSWORD}',
    '    limits:',
    '      maxRows: 2000',
    '      queryTimeoutMs: 60000',
    '```',
    ''
  );
  return lines.join('\n');
}

function collect(
  schema: z.ZodType,
  path: string[],
  title: string,
  sections: Section[],
  engine: string | undefined
): void {
  const inner = unwrapAll(schema);
  if (inner instanceof z.ZodDiscriminatedUnion) {
    for (const option of inner.options as z.ZodType[]) {
      const optionEngine =
        option instanceof z.ZodObject ? literalOf((option.shape as Record<string, z.ZodType>)['engine']) : '?';
      collect(option, path, `${title}: engine \`${optionEngine}\``, sections, optionEngine);
    }
    return;
  }
  if (!(inner instanceof z.ZodObject)) return;
  // Settings shared by several engines (the pool) are listed once.
  if (sections.some(existing => existing.title === title)) return;
  const section: Section = { title, settings: [] };
  sections.push(section);
  for (const [key, child] of Object.entries<z.ZodType>(inner.shape)) {
    const childPath = [...path, key];
    const unwrapped = unwrapAll(child);
    if (unwrapped instanceof z.ZodRecord && !isStructured(unwrapped.valueType as z.ZodType)) {
      // A map of plain values (e.g. session key → source): one row for its entries.
      section.settings.push({
        path: [...childPath, '<key>'].join('.'),
        engine,
        type: typeOf(unwrapAll(unwrapped.valueType as z.ZodType)),
        defaultValue: defaultOf(child, true),
        description: child.description ?? unwrapped.description ?? ''
      });
      continue;
    }
    if (unwrapped instanceof z.ZodRecord) {
      collect(
        unwrapped.valueType as z.ZodType,
        [...childPath, '<name>'],
        `\`${[...childPath, '<name>'].join('.')}\``,
        sections,
        engine
      );
      continue;
    }
    if (unwrapped instanceof z.ZodObject || unwrapped instanceof z.ZodDiscriminatedUnion) {
      collect(child, childPath, `\`${childPath.join('.')}\``, sections, engine);
      continue;
    }
    const element = unwrapped instanceof z.ZodArray ? (unwrapped.element as z.ZodType) : undefined;
    const itemPath = [...path, `${key}[]`];
    if (element !== undefined && isStructured(element)) {
      // A list of objects: a row for the list here, and a section for the fields of each item.
      section.settings.push({
        path: childPath.join('.'),
        engine,
        type: `list of objects (see \`${itemPath.join('.')}\`)`,
        defaultValue: defaultOf(child),
        description: child.description ?? unwrapped.description ?? ''
      });
      collect(element, itemPath, `\`${itemPath.join('.')}\``, sections, engine);
      continue;
    }
    section.settings.push({
      path: childPath.join('.'),
      engine,
      type: typeOf(unwrapped),
      defaultValue: defaultOf(child),
      description: child.description ?? unwrapped.description ?? ''
    });
  }
  if (section.settings.length === 0) sections.splice(sections.indexOf(section), 1);
}

function unwrapAll(schema: z.ZodType): z.ZodType {
  let current = schema;
  while (current instanceof z.ZodDefault || current instanceof z.ZodPrefault || current instanceof z.ZodOptional) {
    current = current.unwrap() as z.ZodType;
  }
  return current;
}

function isStructured(schema: z.ZodType): boolean {
  const inner = unwrapAll(schema);
  return inner instanceof z.ZodObject || inner instanceof z.ZodDiscriminatedUnion;
}

function defaultOf(schema: z.ZodType, showObjects = false): string {
  let current = schema;
  while (current instanceof z.ZodOptional || current instanceof z.ZodDefault || current instanceof z.ZodPrefault) {
    if (current instanceof z.ZodDefault) {
      const value: unknown = current.def.defaultValue;
      if (typeof value === 'object' && value !== null && !Array.isArray(value) && !showObjects) return '';
      return `\`${JSON.stringify(value)}\``;
    }
    current = current.unwrap() as z.ZodType;
  }
  return '';
}

function typeOf(schema: z.ZodType): string {
  if (schema instanceof z.ZodLiteral) return `\`${literalOf(schema)}\``;
  if (schema instanceof z.ZodEnum) return (schema.options as string[]).map(o => `\`${o}\``).join(' \\| ');
  if (schema instanceof z.ZodBoolean) return 'boolean';
  if (schema instanceof z.ZodNumber) {
    const min = schema.minValue;
    const max = schema.maxValue;
    const bounded = (value: number | null): value is number =>
      value !== null && Math.abs(value) < Number.MAX_SAFE_INTEGER;
    if (bounded(min) && bounded(max)) return `integer (${min}–${max})`;
    if (bounded(min)) return `integer (at least ${min})`;
    return 'integer';
  }
  if (schema instanceof z.ZodURL) return 'URL';
  if (schema instanceof z.ZodString) return 'text';
  if (schema instanceof z.ZodArray) {
    const item = typeOf(unwrapAll(schema.element as z.ZodType));
    if (item.includes('\\|')) return `list of: ${item}`;
    return item === 'URL' ? 'list of URLs' : `list of ${item}`;
  }
  if (schema instanceof z.ZodUnion) {
    const options = (schema.options as z.ZodType[]).map(option => typeOf(unwrapAll(option)));
    return options.join(' \\| ');
  }
  return 'value';
}

function literalOf(schema: z.ZodType | undefined): string {
  return schema instanceof z.ZodLiteral ? String([...schema.values][0]) : '?';
}
