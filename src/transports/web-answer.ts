import type { FastifyReply } from 'fastify';
import { isEventStream, NO_PROXY_BUFFERING, type ChunkRead, type ChunkReader } from './event-stream.ts';

/**
 * Sends the SDK's web Response through Fastify. A JSON answer is complete when the SDK returns it,
 * so it is read first and sent with its length, in one write, instead of as a chunked stream. An
 * event stream is given a moment to end: the answer to a quick call (a 2025-era client's call is
 * answered on an event stream) then leaves whole, with its length, in one write too. A stream
 * still open after that moment is streamed as it comes, starting with what it has sent so far. An
 * event stream may be read apart from its response (`relayed`, the relay it goes through); it is
 * sent with the response's status and headers, and asks proxies not to buffer it.
 */

/** How long an event stream may take to end and still be sent whole. */
export const WHOLE_STREAM_MS = 100;

export async function sendAnswer(
  reply: FastifyReply,
  response: Response,
  relayed?: ChunkReader
): Promise<FastifyReply> {
  const events = relayed ?? (response.body !== null && isEventStream(response) ? response.body.getReader() : undefined);
  if (events !== undefined) return sendEventStream(withHeaders(reply, response).headers(NO_PROXY_BUFFERING), events);
  if (response.body === null) return reply.send(response);
  return withHeaders(reply, response).send(Buffer.from(await response.arrayBuffer()));
}

/** The response's status and headers, but its length: the body sent may not be the response's own. */
function withHeaders(reply: FastifyReply, response: Response): FastifyReply {
  reply.code(response.status);
  for (const [name, value] of response.headers) {
    if (name !== 'content-length' && name !== 'transfer-encoding') reply.header(name, value);
  }
  return reply;
}

async function sendEventStream(reply: FastifyReply, reader: ChunkReader): Promise<FastifyReply> {
  const chunks: Uint8Array[] = [];
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>(resolve => {
    timer = setTimeout(resolve, WHOLE_STREAM_MS, undefined);
  });
  let next: Promise<ChunkRead> = reader.read();
  for (;;) {
    const read = await Promise.race([next, late]);
    if (read === undefined) break;
    if (read.done) {
      clearTimeout(timer);
      return reply.send(Buffer.concat(chunks));
    }
    chunks.push(read.value);
    next = reader.read();
  }
  // Still open: what came so far, then the rest as it comes.
  let pending: Promise<ChunkRead> | undefined = next;
  const rest = new ReadableStream<Uint8Array>({
    start: controller => {
      for (const chunk of chunks) controller.enqueue(chunk);
    },
    pull: async controller => {
      const read = await (pending ?? reader.read());
      pending = undefined;
      if (read.done) controller.close();
      else controller.enqueue(read.value);
    },
    cancel: reason => reader.cancel(reason)
  });
  return reply.send(rest);
}
