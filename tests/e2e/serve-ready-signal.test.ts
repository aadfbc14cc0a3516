import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { demoDataDir, emptyDir } from '../helpers/data-dir.ts';
import { runCli } from '../helpers/server-process.ts';

/**
 * A supervisor (systemd, Docker, Kubernetes, a test harness) may stop sqlbridge as soon as it says
 * it is serving. That SIGTERM must start the graceful shutdown (running calls finish, exit code 0),
 * never kill the process outright: the signal handler has to be in place before the "is serving"
 * line is written (and before the listener accepts requests).
 *
 * The race is made deterministic: a module preloaded into the server process sends the process
 * SIGTERM the moment the "is serving" line has been written to stderr, i.e. at the earliest instant
 * a supervisor reading that line could.
 */

const PRELOAD = `
import fs from 'node:fs';
const writeSync = fs.writeSync;
let sent = false;
fs.writeSync = function (fd, data, ...rest) {
  const written = writeSync.call(this, fd, data, ...rest);
  if (!sent && fd === 2 && String(data).includes(' is serving ')) {
    sent = true;
    process.kill(process.pid, 'SIGTERM');
  }
  return written;
};
`;

describe('a SIGTERM right after start-up', () => {
  it('sent as soon as "is serving" is written, shuts down gracefully with exit code 0', async () => {
    const preload = join(emptyDir('ready-signal-'), 'sigterm-when-serving.mjs');
    writeFileSync(preload, PRELOAD);
    const result = await runCli(['demo', '--no-auth', '--data-dir', demoDataDir(), '--port', '0'], {
      env: { NODE_OPTIONS: `--import=${pathToFileURL(preload).href}` },
      timeoutMs: 60_000
    });
    // The preload did its part: the line was written (so the signal was sent right after it).
    expect(result.stderr).toContain(' is serving ');
    // null: killed by the signal itself, before any handler ran.
    expect(result.code, result.stderr.split('\n').slice(-4).join('\n')).toBe(0);
    expect(result.stderr).toContain('"msg":"shutting down"');
  }, 90_000);
});
