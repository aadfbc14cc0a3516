import type { FastifyReply } from 'fastify';
import { isEventStream } from './event-stream.ts';

/**
 * Sends the SDK's web Response through Fastify. A JSON answer is complete when the SDK returns it,
 * so it is read first and sent with its length, in one write, instead of as a chunked stream. An
 * event stream is given a moment to end: the answer to a quick call (a 2025-era client's call is
 * answered on an event stream) then leaves whole, with its length, in one write too. A stream
 * still open after that moment is streamed as it comes, starting with what it has sent so far.
 */

/** How long an event stream may take to end and still be sent whole. */
export const WHOLE_STREAM_MS = 100;

export async function sendAnswer(reply: FastifyReply, response: Response): Promise<FastifyReply> {
  if (response.body === null) return reply.send(response);
  if (isEventStream(response)) return sendEventStream(reply, response, response.body);
  return sendWhole(reply, response, Buffer.from(await response.arrayBuffer()));
}

function sendWhole(reply: FastifyReply, response: Response, body: Buffer): FastifyReply {
  reply.code(response.status);
  for (const [name, value] of response.headers) {
    if (name !== 'content-length' && name !== 'transfer-encoding') reply.header(name, value);
  }
  return reply.send(body);
}

type Read = Awaited<ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']>>;

async function sendEventStream(
  reply: FastifyReply,
  response: Response,
  body: ReadableStream<Uint8Array>
): Promise<FastifyReply> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>(resolve => {
    timer = setTimeout(resolve, WHOLE_STREAM_MS, undefined);
  });
  let next: Promise<Read> = reader.read();
  for (;;) {
    const read = await Promise.race([next, late]);
    if (read === undefined) break;
    if (read.done) {
      clearTimeout(timer);
      return sendWhole(reply, response, Buffer.concat(chunks));
    }
    chunks.push(read.value);
    next = reader.read();
  }
  // Still open: what came so far, then the rest as it comes.
  let pending: Promise<Read> | undefined = next;
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
  return reply.send(new Response(rest, { status: response.status, headers: response.headers }));
}
