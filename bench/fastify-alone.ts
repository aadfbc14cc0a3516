import Fastify from 'fastify';

/**
 * The floor of an idle legacy SSE stream on sqlbridge's HTTP stack: a Fastify server of a few lines
 * that answers `GET /pg/sse` as sqlbridge answers it and does nothing else. Its answer carries the
 * headers sqlbridge's answer carried (the bench reads them from sqlbridge and passes them on), its
 * body is a web stream whose first event names where to post, and one timer sends every stream a
 * keep-alive comment once per interval, in groups spread over the interval, as sqlbridge does. No
 * MCP session, no guard, no logging: what it holds per stream is what Fastify and Node hold for
 * such an answer.
 *
 * Its last two arguments are the headers (JSON) and the keep-alive interval (ms). It listens on a
 * free loopback port and says so on standard error in a JSON line with the URL and port, as
 * sqlbridge does. The bench runs it as JavaScript (idle-streams.ts), so that Node's TypeScript
 * stripper is not part of its resident set.
 */

const SLICES = 16;
const encoder = new TextEncoder();
const KEEP_ALIVE = encoder.encode(': keep-alive\n\n');

const [headersJson = '{}', keepAliveArgument = '15000'] = process.argv.slice(-2);
const headers = JSON.parse(headersJson) as Record<string, string>;
const keepAliveMs = Number(keepAliveArgument);

const app = Fastify({ logger: false });
const groups = Array.from({ length: SLICES }, () => new Set<ReadableStreamDefaultController<Uint8Array>>());
let next = 0;

app.get('/pg/sse', (_request, reply): void => {
  const group = groups[(next + SLICES - 1) % SLICES]!;
  let held: ReadableStreamDefaultController<Uint8Array> | undefined;
  const body = new ReadableStream<Uint8Array>({
    start: controller => {
      held = controller;
      controller.enqueue(encoder.encode(`event: endpoint\ndata: /pg/messages?sessionId=${crypto.randomUUID()}\n\n`));
    },
    cancel: () => {
      if (held !== undefined) group.delete(held);
    }
  });
  if (held !== undefined) group.add(held);
  reply.headers(headers).send(body);
});

setInterval(
  () => {
    const group = groups[next]!;
    next = (next + 1) % SLICES;
    for (const controller of group) {
      try {
        controller.enqueue(KEEP_ALIVE);
      } catch {
        group.delete(controller);
      }
    }
  },
  Math.max(1, Math.floor(keepAliveMs / SLICES))
);

const url = await app.listen({ host: '127.0.0.1', port: 0 });
process.stderr.write(`${JSON.stringify({ msg: 'serving', url, port: Number(new URL(url).port) })}\n`);
