import type { FastifyReply } from 'fastify';
import { isEventStream } from './event-stream.ts';

/**
 * Sends the SDK's web Response through Fastify. An event stream is streamed as it comes; a JSON
 * answer is complete when the SDK returns it, so it is read first and sent with its length, in one
 * write, instead of as a chunked stream.
 */
export async function sendAnswer(reply: FastifyReply, response: Response): Promise<FastifyReply> {
  if (response.body === null || isEventStream(response)) return reply.send(response);
  const body = Buffer.from(await response.arrayBuffer());
  reply.code(response.status);
  for (const [name, value] of response.headers) {
    if (name !== 'content-length' && name !== 'transfer-encoding') reply.header(name, value);
  }
  return reply.send(body);
}
