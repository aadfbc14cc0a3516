import type { PostgresServer } from './datasets.ts';
import { holdStreams } from './load-client.ts';
import { rssMb } from './process-memory.ts';
import type { StreamsFigure } from './report.ts';
import { withOwnSqlbridge } from './sqlbridge-server.ts';

/**
 * Memory of idle legacy SSE streams, on a sqlbridge process of its own (OAuth off) that has served
 * nothing else: a server that has just carried the other workloads has heap to spare, and streams
 * opened there would seem to cost nothing. The resident set is read once the server has settled,
 * and again two seconds after every stream is open.
 */

const settle = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms));
const round1 = (value: number): number => Math.round(value * 10) / 10;

export async function measureIdleStreams(options: {
  workDir: string;
  postgres: PostgresServer;
  sqlitePath: string;
  count: number;
}): Promise<StreamsFigure> {
  const { count } = options;
  return withOwnSqlbridge({ ...options, name: 'streams', maxStreams: count }, async server => {
    await settle(2000);
    const rssBeforeMb = rssMb(server.pid);
    const held = await holdStreams({ kind: 'sse', url: server.url('pg', 'sse'), count });
    try {
      await settle(2000);
      const rssAfterMb = rssMb(server.pid);
      return {
        requested: count,
        opened: held.opened,
        failed: held.failed,
        ...(held.firstError === undefined ? {} : { firstError: held.firstError }),
        rssBeforeMb: round1(rssBeforeMb),
        rssAfterMb: round1(rssAfterMb),
        kbPerStream: held.opened === 0 ? Number.NaN : round1(((rssAfterMb - rssBeforeMb) * 1024) / held.opened)
      };
    } finally {
      await held.close();
    }
  });
}
