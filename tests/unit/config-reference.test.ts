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
});
