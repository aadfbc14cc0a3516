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

/** Sends `signal` once the process first listens for SIGTERM: the earliest moment it could handle one. */
const signalAtFirstHandler = (signal: string): string => `
const on = process.on;
let sent = false;
process.on = function (event, listener) {
  const result = on.call(this, event, listener);
  if (!sent && event === 'SIGTERM') {
    sent = true;
    process.kill(process.pid, '${signal}');
  }
  return result;
};
`;

/** Sends `signal` once a log line holding `text` has been written to stderr. */
const signalAtLine = (text: string, signal: string): string => `
import fs from 'node:fs';
const writeSync = fs.writeSync;
let sent = false;
fs.writeSync = function (fd, data, ...rest) {
  const written = writeSync.call(this, fd, data, ...rest);
  if (!sent && fd === 2 && String(data).includes(${JSON.stringify(text)})) {
    sent = true;
    process.kill(process.pid, '${signal}');
  }
  return written;
};
`;

/** Runs the demo with these modules preloaded, until it exits. */
async function demoWith(...preloads: string[]) {
  const dir = emptyDir('ready-signal-');
  const imports = preloads.map((source, i) => {
    const path = join(dir, `preload-${i}.mjs`);
    writeFileSync(path, source);
    return `--import=${pathToFileURL(path).href}`;
  });
  return runCli(['demo', '--no-auth', '--data-dir', demoDataDir(), '--port', '0'], {
    env: { NODE_OPTIONS: imports.join(' ') },
    timeoutMs: 60_000
  });
}

describe('signals while the server starts or stops', () => {
  it('a SIGTERM before it serves: it stops there, with exit code 0, and never serves', async () => {
    const result = await demoWith(signalAtFirstHandler('SIGTERM'));
    expect(result.code, result.stderr.split('\n').slice(-4).join('\n')).toBe(0);
    expect(result.stderr).toContain('"msg":"stopped before serving"');
    expect(result.stderr).not.toContain(' is serving ');
  }, 90_000);

  it('a SIGHUP before it serves is ignored: it goes on to serve', async () => {
    const result = await demoWith(signalAtFirstHandler('SIGHUP'), signalAtLine(' is serving ', 'SIGTERM'));
    expect(result.code, result.stderr.split('\n').slice(-4).join('\n')).toBe(0);
    expect(result.stderr).toContain('SIGHUP ignored: the configuration is reloaded only while the server serves');
    expect(result.stderr).toContain(' is serving ');
  }, 90_000);

  it('a SIGHUP while it shuts down is ignored: it finishes and exits 0', async () => {
    const result = await demoWith(
      signalAtLine(' is serving ', 'SIGTERM'),
      signalAtLine('"msg":"shutting down"', 'SIGHUP')
    );
    expect(result.code, result.stderr.split('\n').slice(-4).join('\n')).toBe(0);
    expect(result.stderr).toContain('SIGHUP ignored');
    expect(result.stderr).toContain('"msg":"stopped"');
  }, 90_000);
});

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
