import { existsSync, readFileSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  scripts: Record<string, string>;
  engines: { node: string };
  devEngines: { runtime: { name: string; version: string } };
  devDependencies: Record<string, string>;
};

/** The number the README states where `pattern` matches (its first group, without thousands separators). */
function stated(pattern: RegExp): number {
  const match = pattern.exec(readme.replace(/\s+/g, ' '));
  expect(match, `README states ${String(pattern)}`).not.toBeNull();
  return Number((match?.[1] ?? '').replaceAll(',', ''));
}

/** The README's first lines are the two set-up commands, and CI runs exactly its test command. */
describe('README', () => {
  const ci = readFileSync(new URL('../../.ci/run', import.meta.url), 'utf8');
  const block = /^# sqlbridge\n\n```sh\n([^`]+)```/.exec(readme)?.[1] ?? '';
  const [demo, test] = block
    .trim()
    .split('\n')
    .map(line => line.replace(/\s+#.*$/, '').trim());

  it('opens with the command that starts the demo and the one that runs the tests', () => {
    expect(demo).toBe('npm install && npm start');
    expect(test).toBe('npm test');
  });

  it('is what CI runs, after installing', () => {
    const commands = ci
      .split('\n')
      .map(line => line.trim())
      .filter(line => line !== '' && !line.startsWith('#') && !line.startsWith('set ') && !line.startsWith('cd '));
    expect(commands[0]).toBe('npm ci');
    expect(commands.at(-1)).toBe(test);
    expect(commands.filter(line => line.startsWith('npm '))).toEqual(['npm ci', test]);
  });
});

describe('the numbers the README states', () => {
  it('describes the demo database the first start builds', () => {
    const rows = stated(/more than ([\d,]+) rows in \d+ tables/);
    const tables = stated(/rows in (\d+) tables and \d+ views/);
    const views = stated(/tables and (\d+) views/);
    const db = new DatabaseSync(inject('demoTemplate'), { readOnly: true });
    try {
      const names = (type: string): string[] =>
        db
          .prepare("SELECT name FROM sqlite_schema WHERE type = ? AND name NOT LIKE 'sqlite_%'")
          .all(type)
          .map(row => String(row['name']));
      const tableNames = names('table');
      expect(tableNames).toHaveLength(tables);
      expect(names('view')).toHaveLength(views);
      const total = tableNames
        .map(table => Number(db.prepare(`SELECT count(*) AS n FROM "${table}"`).get()?.['n']))
        .reduce((sum, n) => sum + n, 0);
      expect(total).toBeGreaterThan(rows);
      const first = db.prepare('SELECT min(ordered_at) AS first FROM orders').get()?.['first'];
      expect(String(first).slice(0, 4)).toBe(String(stated(/orders since (\d{4})/)));
    } finally {
      db.close();
    }
  });

  it('gives the defaults the configuration has', () => {
    const { config } = loadConfig({ cli: {}, env: {}, cwd: process.cwd(), demo: true });
    const limits = config.environments['demo']?.limits;
    expect(stated(/row cap \(default ([\d,]+)\)/)).toBe(limits?.maxRows);
    expect(stated(/per-environment timeout \(default (\d+) s\)/) * 1000).toBe(limits?.queryTimeoutMs);
    expect(stated(/keep-alive comment every (\d+) s/) * 1000).toBe(config.server.keepAliveMs);
    expect(stated(/calls already running get (\d+) s \(`server\.shutdownTimeoutMs`\)/) * 1000).toBe(
      config.server.shutdownTimeoutMs
    );
    expect(stated(/MCP server at http:\/\/127\.0\.0\.1:(\d+)\/demo\/mcp/)).toBe(config.server.port);
  });

  it('states the Node.js versions package.json requires', () => {
    expect(pkg.engines.node).toBe(`>=${/must be (\d+\.\d+) or later/.exec(readme)?.[1] ?? ''}`);
    expect(pkg.devEngines.runtime).toMatchObject({
      name: 'node',
      version: `>=${stated(/runs on Node\.js (\d+) or later/)}`
    });
    expect(pkg.devDependencies['node']).toMatch(new RegExp(`^\\^${stated(/it fetches Node\.js (\d+)/)}\\.`));
  });
});

describe('package.json', () => {
  it('has no script that runs a file the repository does not hold', () => {
    for (const [name, script] of Object.entries(pkg.scripts)) {
      for (const [, file] of script.matchAll(/\bnode ([\w./-]+\.ts)\b/g)) {
        expect(existsSync(new URL(`../../${file ?? ''}`, import.meta.url)), `${name}: ${file ?? ''}`).toBe(true);
      }
    }
  });
});
