import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';

/**
 * A server under measurement, run as a child process whose stderr is watched for the line that
 * says it listens, then drained (kept only as a short tail for error messages).
 */

export interface SpawnedServer {
  process: ChildProcess;
  pid: number;
  baseUrl: string;
  tail(): string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  server.close();
  await once(server, 'close');
  return port;
}

/** The environment of a process the bench starts: `env`, with the PATH and HOME a program needs, nothing else inherited. */
export function childEnv(env: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', ...env };
}

export async function spawnServer(
  command: string,
  args: string[],
  options: {
    cwd: string;
    env?: Record<string, string>;
    readyWhen: (line: string) => string | undefined;
    timeoutMs?: number;
  }
): Promise<SpawnedServer> {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: childEnv(options.env),
    stdio: ['ignore', 'ignore', 'pipe']
  });
  let tail = '';
  let pending = '';
  // Once the server says it listens, its lines are only kept as the tail: reading each one would
  // spend the measuring machine's CPU in proportion to how much a server logs.
  let ready = false;
  const baseUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${command} did not start in time:\n${tail}`)),
      options.timeoutMs ?? 60_000
    );
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      tail = (tail + chunk).slice(-4000);
      if (ready) return;
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const url = options.readyWhen(line);
        if (url !== undefined) {
          ready = true;
          pending = '';
          clearTimeout(timer);
          resolve(url);
          break;
        }
      }
      if (pending.length > 65_536) pending = '';
    });
    child.once('exit', code => {
      clearTimeout(timer);
      reject(new Error(`${command} exited with ${String(code)} before serving:\n${tail}`));
    });
  });
  return {
    process: child,
    pid: child.pid ?? 0,
    baseUrl,
    tail: () => tail,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
  };
}
