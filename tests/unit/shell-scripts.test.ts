import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

/**
 * The shipped shell scripts (and CI's own) parse, and shellcheck finds nothing in them: quoting,
 * word splitting and the other classic shell mistakes. shellcheck must be installed (CI installs it):
 * without it this test fails rather than skips.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCRIPTS = [
  ...readdirSync(`${ROOT}scripts`)
    .filter(name => name.endsWith('.sh'))
    .map(name => `scripts/${name}`),
  '.ci/run'
];

it('finds the shell scripts', () => {
  expect(SCRIPTS).toEqual(
    expect.arrayContaining(['scripts/backup.sh', 'scripts/restore.sh', 'scripts/health-check.sh', '.ci/run'])
  );
});

it.each(SCRIPTS)('%s parses and passes shellcheck', script => {
  const parsed = spawnSync('bash', ['-n', script], { cwd: ROOT, encoding: 'utf8' });
  expect(parsed.status, parsed.stderr).toBe(0);
  const checked = spawnSync('shellcheck', ['--severity=style', script], { cwd: ROOT, encoding: 'utf8' });
  if (checked.error !== undefined) throw new Error(`shellcheck could not run: ${checked.error.message}`);
  expect(checked.status, checked.stdout).toBe(0);
});
