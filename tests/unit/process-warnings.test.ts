import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

/**
 * Node's own warnings (here the DEP0123 a TLS connection to an IP address raises) reach the log as
 * JSON lines like any other, never as the plain text Node prints by default.
 */

const LOGGER = fileURLToPath(new URL('../../src/observability/logger.ts', import.meta.url));

it('logs a process warning as one JSON line on stderr, and nothing else', () => {
  const script = [
    `import { createLogger, logProcessWarnings } from ${JSON.stringify(LOGGER)};`,
    `logProcessWarnings(createLogger('info'));`,
    `process.emitWarning('Setting the TLS ServerName to an IP address is not permitted by RFC 6066.', 'DeprecationWarning', 'DEP0123');`
  ].join('\n');
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  expect(result.status, result.stderr).toBe(0);
  const lines = result.stderr.split('\n').filter(line => line !== '');
  expect(lines).toHaveLength(1);
  expect(JSON.parse(lines[0] ?? '')).toMatchObject({
    level: 'warn',
    warning: 'DeprecationWarning',
    code: 'DEP0123',
    msg: 'Setting the TLS ServerName to an IP address is not permitted by RFC 6066.'
  });
});

it('prints the warning as plain text without it (what the log must not contain)', () => {
  const result = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', `process.emitWarning('plain', 'DeprecationWarning', 'DEP0123');`],
    { encoding: 'utf8' }
  );
  expect(result.stderr).toContain('[DEP0123] DeprecationWarning: plain');
});
