import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { resolveRole, requireRole, type AccessPolicy } from '../../src/db/access.ts';
import { ConfigError } from '../../src/errors/config-error.ts';
import { SqlbridgeError } from '../../src/errors/sqlbridge-error.ts';
import { emptyDir } from '../helpers/data-dir.ts';

/**
 * The `access` setting: how it is validated (each mistake names its setting), and which database
 * role a caller gets from it.
 */

const HASH = 'scrypt$16384$8$1$c2FsdHNhbHRzYWx0c2FsdA$' + 'A'.repeat(43);

function load(yaml: string) {
  const dir = emptyDir('access-');
  const path = join(dir, 'sqlbridge.yaml');
  writeFileSync(path, yaml);
  return loadConfig({ cli: { config: path }, env: {}, cwd: dir, demo: false });
}

function problem(yaml: string): string {
  try {
    load(yaml);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  throw new Error('expected a ConfigError');
}

const PG = '{ engine: postgres, host: db, user: sqlbridge, database: app }';

describe('the access setting', () => {
  it('is absent by default, and users have no groups', () => {
    const { config } = load(
      `environments:\n  pg:\n    database: ${PG}\nauth:\n  users:\n    - { username: ana, passwordHash: "${HASH}", environments: [pg] }\n`
    );
    expect(config.environments['pg']?.access).toBeUndefined();
    expect(config.auth.users[0]?.groups).toEqual([]);
  });

  it('reads roles per group and user, with default none', () => {
    const { config } = load(
      [
        'environments:',
        '  pg:',
        `    database: ${PG}`,
        '    access: { roles: { analysts: reporting_eu, "user:ana": finance_ro } }',
        'auth:',
        '  users:',
        `    - { username: ana, passwordHash: "${HASH}", environments: [pg], groups: [analysts, finance] }`,
        ''
      ].join('\n')
    );
    expect(config.environments['pg']?.access).toEqual({
      roles: { analysts: 'reporting_eu', 'user:ana': 'finance_ro' },
      default: 'none',
      tables: {}
    });
    expect(config.auth.users[0]?.groups).toEqual(['analysts', 'finance']);
  });

  it.each([
    [
      'a role that is not a plain name',
      `    access: { roles: { analysts: 'reporting; DROP TABLE x' } }`,
      /environments\.pg\.access\.roles\.analysts.*a role name is a letter/s
    ],
    [
      'a default that is not a plain name',
      `    access: { default: '"admin"' }`,
      /environments\.pg\.access\.default.*role name/s
    ],
    [
      'a subject that is neither a group nor a user',
      `    access: { roles: { "team a": reporting } }`,
      /environments\.pg\.access\.roles.*expected a group name or `user:<username>`/s
    ],
    ['an unknown setting', `    access: { role: { a: b } }`, /environments\.pg\.access.*role/s],
    [
      'tables outside SQLite',
      `    access: { roles: { a: r }, tables: { r: [orders] } }`,
      /environments\.pg\.access\.tables.*only SQLite environments list tables per role/s
    ]
  ])('names the setting of %s', (_name, line, message) => {
    expect(problem(`environments:\n  pg:\n    database: ${PG}\n${line}\n`)).toMatch(message);
  });

  it('needs the tables of every SQLite role', () => {
    const said = problem(
      [
        'environments:',
        '  lite:',
        '    database: { engine: sqlite, path: ./x.db }',
        '    access: { roles: { analysts: reporting }, default: viewer, tables: { reporting: [orders] } }',
        ''
      ].join('\n')
    );
    expect(said).toMatch(
      /environments\.lite\.access\.tables\.viewer.*"viewer" is used in access\.roles or access\.default but lists no tables/s
    );
  });

  it('names a group of a user that is not a plain name', () => {
    const said = problem(
      `environments:\n  pg:\n    database: ${PG}\nauth:\n  users:\n    - { username: ana, passwordHash: "${HASH}", environments: [pg], groups: ["a b"] }\n`
    );
    expect(said).toMatch(/auth\.users\.0\.groups\.0.*a group name is/s);
  });
});

describe('the role of a caller', () => {
  const policy: AccessPolicy = {
    roles: { analysts: 'reporting', finance: 'finance_ro', 'user:Ana': 'auditor' },
    default: 'none'
  };
  const who = (subject: string | null, groups?: string[]) => ({
    subject,
    clientId: 'c',
    ...(groups === undefined ? {} : { groups })
  });

  it('maps a user before any of their groups, the username case-insensitively', () => {
    expect(resolveRole(policy, who('ana', ['finance']))).toBe('auditor');
    expect(resolveRole(policy, who('ANA'))).toBe('auditor');
  });

  it('takes the first mapped group in the order the user lists them', () => {
    expect(resolveRole(policy, who('ben', ['visitors', 'finance', 'analysts']))).toBe('finance_ro');
    expect(resolveRole(policy, who('ben', ['analysts', 'finance']))).toBe('reporting');
  });

  it('falls back to the default, and to none', () => {
    expect(resolveRole(policy, who('cy', ['visitors']))).toBeUndefined();
    expect(resolveRole({ ...policy, default: 'viewer' }, who('cy', ['visitors']))).toBe('viewer');
    expect(resolveRole({ ...policy, default: 'viewer' }, undefined)).toBe('viewer');
  });

  it('does not let a group pose as a user or as an inherited object key', () => {
    expect(resolveRole(policy, who('cy', ['user:Ana', 'toString', '__proto__']))).toBeUndefined();
  });

  it('refuses a caller without a role with a message naming the setting', () => {
    const refused = (identity: Parameters<typeof requireRole>[1]): SqlbridgeError => {
      try {
        requireRole(policy, identity);
      } catch (error) {
        return error as SqlbridgeError;
      }
      throw new Error('expected a refusal');
    };
    const error = refused(who('cy', ['visitors']));
    expect(error).toBeInstanceOf(SqlbridgeError);
    expect(error.code).toBe('access_denied');
    expect(error.expose).toBe(true);
    expect(error.message).toBe(
      'the user "cy" has no database role in this environment: neither the user nor any of their groups is mapped in access.roles, and access.default is "none"'
    );
    expect(refused(undefined).message).toMatch(/^a caller without sign-in has no database role/);
    expect(requireRole(policy, who('x', ['analysts']))).toBe('reporting');
  });
});
