import { readFileSync } from 'node:fs';
import { get, type IncomingMessage } from 'node:http';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { PROJECT_ROOT, SQLBRIDGE_ENV } from './build.ts';
import type { PostgresServer } from './datasets.ts';
import { holdStreams } from './load-client.ts';
import { rssMb, sampleRss } from './process-memory.ts';
import type { StreamsFigure } from './report.ts';
import { spawnServer, type SpawnedServer } from './spawned-server.ts';
import { servingUrl, withOwnSqlbridge } from './sqlbridge-server.ts';

/**
 * Memory of idle legacy SSE streams, on a sqlbridge process of its own (OAuth off) that has served
 * nothing else: a server that has just carried the other workloads has heap to spare, and streams
 * opened there would seem to cost nothing. The resident set is read once the server has settled,
 * two seconds after every stream is open, and throughout the time the streams are then held idle:
 * every keep-alive comment the server writes leaves garbage that V8 keeps until its next full
 * collection, so the resident set goes on growing for a while after the streams have opened. The
 * memory per stream is taken from the highest reading. The same streams are then held, and read
 * alike, by Fastify alone (fastify-alone.ts), answering with the headers sqlbridge's answer carried:
 * the floor of an idle stream on this HTTP stack.
 */

/** How long the streams are held idle: two keep-alive intervals (15 s by default) and a margin. */
export const HOLD_MS = 35_000;

const settle = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms));
const round1 = (value: number): number => Math.round(value * 10) / 10;

/** The readings the figure is made of: everything but the memory per stream, with the held reading. */
export type StreamsReadings = Omit<StreamsFigure, 'kbPerStream'> &
  Required<Pick<StreamsFigure, 'rssHeldPeakMb' | 'heldMs'>>;

/** The figure from the readings: the memory per stream from the highest one after the streams opened. */
export function streamsFigure(readings: StreamsReadings): StreamsFigure {
  const { opened, rssBeforeMb, rssAfterMb } = readings;
  const highest = Math.max(rssAfterMb, readings.rssHeldPeakMb);
  return {
    ...readings,
    rssBeforeMb: round1(rssBeforeMb),
    rssAfterMb: round1(rssAfterMb),
    rssHeldPeakMb: round1(highest),
    kbPerStream: opened === 0 ? Number.NaN : round1(((highest - rssBeforeMb) * 1024) / opened)
  };
}

export interface IdleStreamsOptions {
  workDir: string;
  postgres: PostgresServer;
  sqlitePath: string;
  count: number;
  /** How long the streams are held idle after they opened (default HOLD_MS). */
  holdMs?: number;
  /** Options for `node` itself in both servers, before their script (`--node-flags`). */
  nodeFlags?: readonly string[];
}

/** sqlbridge's figure, and the same streams held by Fastify alone (see fastify-alone.ts). */
export interface IdleStreamsFigures {
  sqlbridge: StreamsFigure;
  fastifyAlone: StreamsFigure;
}

export async function measureIdleStreams(options: IdleStreamsOptions): Promise<IdleStreamsFigures> {
  const { count } = options;
  const heldMs = options.holdMs ?? HOLD_MS;
  const { sqlbridge, headers } = await withOwnSqlbridge(
    { ...options, name: 'streams', maxStreams: count },
    async server => {
      const figure = await holdIdle(server, server.url('pg', 'sse'), count, heldMs);
      // Read once the figure is taken, so that the server has served nothing else before.
      return { sqlbridge: figure, headers: await eventStreamHeaders(server.url('pg', 'sse')) };
    }
  );
  const floor = await startFastifyAlone(headers, KEEP_ALIVE_MS, options.nodeFlags);
  try {
    return { sqlbridge, fastifyAlone: await holdIdle(floor, `${floor.baseUrl}/pg/sse`, count, heldMs) };
  } finally {
    await floor.stop();
  }
}

/** The keep-alive interval of sqlbridge's event streams by default (`server.keepAliveMs`). */
export const KEEP_ALIVE_MS = 15_000;

const FASTIFY_ALONE = fileURLToPath(new URL('./fastify-alone.ts', import.meta.url));

/**
 * fastify-alone.ts in a process of its own, with the image's environment, as JavaScript: run as
 * TypeScript, Node would load its type stripper, about 18 MiB of resident set sqlbridge's built
 * server does not carry. It runs from the project's directory, where `fastify` resolves.
 */
export async function startFastifyAlone(
  headers: Record<string, string>,
  keepAliveMs: number,
  nodeFlags: readonly string[] = []
): Promise<SpawnedServer> {
  const { outputText } = ts.transpileModule(readFileSync(FASTIFY_ALONE, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2024 }
  });
  return spawnServer(
    process.execPath,
    [...nodeFlags, '--input-type=module', '--eval', outputText, JSON.stringify(headers), String(keepAliveMs)],
    { cwd: PROJECT_ROOT, env: SQLBRIDGE_ENV, readyWhen: servingUrl }
  );
}

/** Opens `count` streams on a server that has settled, and reads its resident set as they open and while they are held. */
async function holdIdle(server: { pid: number }, url: string, count: number, heldMs: number): Promise<StreamsFigure> {
  await settle(2000);
  const rssBeforeMb = rssMb(server.pid);
  const held = await holdStreams({ kind: 'sse', url, count });
  try {
    await settle(2000);
    const rssAfterMb = rssMb(server.pid);
    const sampler = sampleRss(server.pid, 500);
    await settle(heldMs);
    const rssHeldPeakMb = sampler.stop();
    return streamsFigure({
      requested: count,
      opened: held.opened,
      failed: held.failed,
      ...(held.firstError === undefined ? {} : { firstError: held.firstError }),
      rssBeforeMb,
      rssAfterMb,
      rssHeldPeakMb,
      heldMs
    });
  } finally {
    await held.close();
  }
}

/** Headers Node writes by itself on every such answer; the others are the server's choice. */
const NODE_HEADERS = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding']);

/** The headers a server's answer to `GET url` (an event stream) carries, but for those Node adds itself. */
export async function eventStreamHeaders(url: string): Promise<Record<string, string>> {
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    get(url, { headers: { accept: 'text/event-stream' } }, resolve).on('error', reject);
  });
  response.destroy();
  if (response.statusCode !== 200) throw new Error(`GET ${url} answered ${String(response.statusCode)}`);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers)) {
    if (value !== undefined && !NODE_HEADERS.has(name)) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}
