import { writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { emptyDir } from '../helpers/data-dir.ts';
import { startServer, type RunningServer } from '../helpers/server-process.ts';

/**
 * `server.maxConnections`: one client opening idle connections takes no more than the cap; the
 * connection beyond it is closed at once (and logged), and the server answers again as soon as
 * connections are given back.
 */

const CAP = 16;
let server: RunningServer;
const sockets: Socket[] = [];

beforeAll(async () => {
  const dir = emptyDir('connection-cap-');
  const path = join(dir, 'lite.sqlite');
  new DatabaseSync(path).close();
  const config = join(dir, 'sqlbridge.yaml');
  writeFileSync(
    config,
    [
      'server:',
      `  maxConnections: ${String(CAP)}`,
      'environments:',
      '  lite:',
      `    database: { engine: sqlite, path: ${JSON.stringify(path)} }`,
      ''
    ].join('\n')
  );
  server = await startServer({ args: ['serve', '--no-auth', '--config', config, '--data-dir', dir] });
}, 60_000);

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await server.stop();
});

/** Opens a TCP connection to the server and keeps it idle; resolves once connected. */
async function idle(): Promise<Socket> {
  const url = new URL(server.baseUrl);
  const socket = connect(Number(url.port), url.hostname);
  socket.on('error', () => undefined);
  sockets.push(socket);
  await new Promise<void>(resolve => socket.once('connect', () => resolve()));
  return socket;
}

/** Whether the server answers /healthz on a new connection (it closes one beyond its cap). */
async function answers(): Promise<boolean> {
  try {
    const response = await fetch(`${server.baseUrl}/healthz`, { headers: { connection: 'close' } });
    return response.status === 200;
  } catch {
    return false;
  }
}

it('closes a connection beyond server.maxConnections, and serves again once connections close', async () => {
  expect(await answers()).toBe(true);
  const held = [];
  for (let i = 0; i < CAP; i++) held.push(await idle());
  // Give the server the moment it takes to count them.
  await new Promise(resolve => setTimeout(resolve, 200));
  expect(await answers()).toBe(false);
  const warning = await server.logLine(
    line => line['msg'] === 'connection closed: the server holds its maximum of open connections'
  );
  expect(warning).toMatchObject({ level: 'warn', maxConnections: CAP });
  for (const socket of held.splice(0, 4)) socket.destroy();
  const deadline = Date.now() + 5000;
  while (!(await answers())) {
    expect(Date.now()).toBeLessThan(deadline);
    await new Promise(resolve => setTimeout(resolve, 100));
  }
});
