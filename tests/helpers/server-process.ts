import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

/** The real sqlbridge CLI, run as a child process with the project's Node. */

export const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface RunningServer {
  process: ChildProcess;
  /** Base URL, e.g. http://127.0.0.1:40123 */
  baseUrl: string;
  /**
   * Every stderr line so far, parsed when it is JSON. A serving process writes its lines in
   * batches (at most 250 ms after they are logged), all of them before it exits: a line logged
   * while it serves is waited for with `logLine`; after `stop()` every line is here.
   */
  logs: Record<string, unknown>[];
  /**
   * Resolves once every line logged so far has been written: it requests a path of its own (a 404)
   * and waits for that request's line, which is written after every line logged before it.
   */
  logsWritten(): Promise<void>;
  /** The first JSON line, from the `from`th on (default 0), that `matches`; waited for (bounded). */
  logLine(
    matches: (entry: Record<string, unknown>) => boolean,
    options?: { from?: number; timeoutMs?: number }
  ): Promise<Record<string, unknown>>;
  stderr(): string;
  /** What the process printed for people (e.g. the demo's first sign-in). */
  stdout(): string;
  stop(): Promise<number | null>;
}

export interface StartOptions {
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
  timeoutMs?: number;
  /** The port to listen on; 0 (the default) lets the system choose. */
  port?: number;
}

/** Starts `sqlbridge <args> --port 0` (or `options.port`) and waits for its "is serving" log line. */
export async function startServer(options: StartOptions): Promise<RunningServer> {
  const child = spawn(process.execPath, [MAIN, ...options.args, '--port', String(options.port ?? 0)], {
    cwd: options.cwd ?? PROJECT_ROOT,
    env: { PATH: process.env['PATH'] ?? '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe']
  });
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  let buffered = '';
  /** The port it listens on, on loopback (its URL may be a proxy's). */
  let listening = '';
  const ready = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`server did not start in time:\n${stderr}`)),
      options.timeoutMs ?? 30_000
    );
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          logs.push(entry);
          if (typeof entry['url'] === 'string' && typeof entry['port'] === 'number') {
            listening = `http://127.0.0.1:${String(entry['port'])}`;
            clearTimeout(timer);
            const url = new URL(entry['url']);
            // Behind a public URL (a proxy's), the server itself is reached on its loopback bind.
            resolve(url.protocol === 'http:' ? url.origin : `http://127.0.0.1:${String(entry['port'])}`);
          }
        } catch {
          // not a JSON line (kept in stderr)
        }
      }
    });
    child.once('exit', code => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${String(code)} before serving:\n${stderr}`));
    });
  });
  const baseUrl = await ready;
  const logLine: RunningServer['logLine'] = async (matches, { from = 0, timeoutMs = 5_000 } = {}) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = logs.slice(from).find(matches);
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`no such log line within ${String(timeoutMs)} ms:\n${stderr}`);
      await new Promise(resolve => setTimeout(resolve, 25));
    }
  };
  return {
    process: child,
    baseUrl,
    logs,
    async logsWritten() {
      const path = `/logs-written-${randomUUID()}`;
      const from = logs.length;
      await (await fetch(`${listening}${path}`)).arrayBuffer();
      await logLine(entry => entry['msg'] === 'request' && entry['path'] === path, { from });
    },
    logLine,
    stderr: () => stderr,
    stdout: () => stdout,
    async stop() {
      // Already gone: by itself (exitCode) or by a signal (signalCode, exitCode stays null).
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      // 'close', not 'exit': its standard error has been read to the end (the lines it wrote last).
      const [code] = (await once(child, 'close')) as [number | null];
      return code;
    }
  };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to completion. */
export async function runCli(
  args: string[],
  options: {
    env?: Record<string, string>;
    cwd?: string;
    timeoutMs?: number;
    stdin?: string;
    /** Write `stdin` but leave the input open, as a terminal or a pipe that has not ended does. */
    holdStdin?: boolean;
  } = {}
): Promise<CliResult> {
  const child = spawn(process.execPath, [MAIN, ...args], {
    cwd: options.cwd ?? PROJECT_ROOT,
    env: { PATH: process.env['PATH'] ?? '', ...options.env },
    stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe']
  });
  if (options.stdin !== undefined) {
    // A command may exit without reading all of its input; the broken pipe is then no error of the test's.
    child.stdin?.on('error', () => undefined);
    if (options.holdStdin === true) child.stdin?.write(options.stdin);
    else child.stdin?.end(options.stdin);
  }
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}
