import { request, type ClientRequest } from 'node:http';

/**
 * Idle legacy HTTP+SSE streams (`GET /<environment>/sse`), each on a connection of its own, held
 * open until closed. A stream counts as open once its first event (the `endpoint` event naming
 * where to post) has arrived. Streams are spread over loopback source addresses, a fixed number
 * per address, since the server caps the streams one client address may hold.
 */

export const STREAMS_PER_ADDRESS = 1000;
const OPENING_AT_ONCE = 64;

export interface IdleStreams {
  opened: number;
  failed: number;
  firstError?: string;
  close(): Promise<void>;
}

function openOne(url: URL, localAddress: string, held: ClientRequest[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        localAddress,
        agent: false,
        headers: { accept: 'text/event-stream' }
      },
      res => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`GET ${url.pathname} answered ${res.statusCode}`));
          return;
        }
        let seen = '';
        const onData = (chunk: Buffer): void => {
          seen += chunk.toString('utf8');
          if (seen.includes('event: endpoint') || seen.includes('event:endpoint')) {
            res.off('data', onData);
            res.resume();
            resolve();
          }
        };
        res.on('data', onData);
      }
    );
    req.setTimeout(30_000, () => req.destroy(new Error('no endpoint event within 30 s')));
    req.on('error', reject);
    req.end();
    held.push(req);
  });
}

export async function openIdleStreams(target: string, count: number): Promise<IdleStreams> {
  const url = new URL(target);
  const held: ClientRequest[] = [];
  let opened = 0;
  let failed = 0;
  let firstError: string | undefined;
  let next = 0;
  const opener = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      const address = `127.0.${Math.floor(index / STREAMS_PER_ADDRESS / 250)}.${2 + (Math.floor(index / STREAMS_PER_ADDRESS) % 250)}`;
      try {
        await openOne(url, address, held);
        opened++;
      } catch (error) {
        failed++;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: OPENING_AT_ONCE }, opener));
  for (const req of held) req.setTimeout(0);
  return {
    opened,
    failed,
    ...(firstError === undefined ? {} : { firstError }),
    async close() {
      for (const req of held) req.destroy();
    }
  };
}
