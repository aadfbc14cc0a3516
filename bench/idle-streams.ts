import type { PostgresServer } from './datasets.ts';
import { holdStreams } from './load-client.ts';
import { rssMb, sampleRss } from './process-memory.ts';
import type { StreamsFigure } from './report.ts';
import { withOwnSqlbridge } from './sqlbridge-server.ts';

/**
 * Memory of idle legacy SSE streams, on a sqlbridge process of its own (OAuth off) that has served
 * nothing else: a server that has just carried the other workloads has heap to spare, and streams
 * opened there would seem to cost nothing. The resident set is read once the server has settled,
 * two seconds after every stream is open, and throughout the time the streams are then held idle:
 * every keep-alive comment the server writes leaves garbage that V8 keeps until its next full
 * collection, so the resident set goes on growing for a while after the streams have opened. The
 * memory per stream is taken from the highest reading.
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

export async function measureIdleStreams(options: {
  workDir: string;
  postgres: PostgresServer;
  sqlitePath: string;
  count: number;
  /** How long the streams are held idle after they opened (default HOLD_MS). */
  holdMs?: number;
}): Promise<StreamsFigure> {
  const { count } = options;
  const heldMs = options.holdMs ?? HOLD_MS;
  return withOwnSqlbridge({ ...options, name: 'streams', maxStreams: count }, async server => {
    await settle(2000);
    const rssBeforeMb = rssMb(server.pid);
    const held = await holdStreams({ kind: 'sse', url: server.url('pg', 'sse'), count });
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
  });
}
