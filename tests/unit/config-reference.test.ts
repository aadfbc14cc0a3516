import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderConfigReference } from '../../src/config/reference.ts';
import { ENV_VARS } from '../../src/config/env-vars.ts';

describe('configuration reference', () => {
  const committed = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');

  it('is up to date with the schema (run `npm run docs:config` after changing it)', () => {
    expect(committed).toBe(renderConfigReference());
  });

  it('documents every environment variable and every engine', () => {
    for (const spec of ENV_VARS) expect(committed, spec.name).toContain(`\`${spec.name}\``);
    for (const engine of ['demo', 'sqlite', 'postgres', 'mysql', 'mssql'])
      expect(committed).toContain(`engine \`${engine}\``);
    expect(committed).toContain(
      '| `environments.<name>.limits.maxRows` | integer (1–100000) | `1000` | `SQLBRIDGE_MAX_ROWS` |'
    );
  });

  it('names a database variable only in the section of the engine it configures', () => {
    const sections = committed.split(/^## /m);
    for (const engine of ['postgres', 'mysql', 'sqlite', 'demo']) {
      const section = sections.find(text => text.startsWith(`\`environments.<name>.database\`: engine \`${engine}\``));
      expect(section, engine).toBeDefined();
      expect(section, engine).not.toMatch(/`(MSSQL_[A-Z_]+|AZURE_[A-Z_]+|TrustServerCertificate)`/);
    }
    expect(committed).toContain('| `environments.<name>.database.url` | text |  | `POSTGRES_URL` | A postgres://');
    expect(committed).toContain('| `environments.<name>.database.url` | text |  | `MYSQL_URL` | A mysql://');
    expect(committed).toContain('| `environments.<name>.database.host` | text |  | `MSSQL_HOST` | Server name');
  });

  it('documents the fields of each item of a list of objects', () => {
    expect(committed).toContain('| `auth.users` | list of objects (see `auth.users[]`) | `[]` |');
    for (const field of ['username', 'passwordHash', 'environments', 'scopes', 'disabled', 'attributes.<key>'])
      expect(committed).toContain(`| \`auth.users[].${field}\` |`);
    for (const field of ['clientId', 'clientSecret', 'name', 'redirectUris'])
      expect(committed).toContain(`| \`auth.clients[].${field}\` |`);
    expect(committed).not.toMatch(/\| (list of text|value) \| `\[\]` \| {2}\| (The people|Pre-registered)/);
  });
});
