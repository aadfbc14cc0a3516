import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStreamRelay } from '../../src/transports/event-stream.ts';
import { sendAnswer, WHOLE_STREAM_MS } from '../../src/transports/web-answer.ts';

const encoder = new TextEncoder();
/** fetch's body as the bytes it is. */
const readerOf = (response: Response): ReadableStreamDefaultReader<Uint8Array> =>
  response.body!.getReader() as ReadableStreamDefaultReader<Uint8Array>;
const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms));

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map(app => app.close()));
});

function serve(response: () => Response): FastifyInstance {
  const app = Fastify();
  app.get('/', (_request, reply) => sendAnswer(reply, response()));
  apps.push(app);
  return app;
}

/** A stream whose chunks the test pushes. */
function pushed(): { stream: ReadableStream<Uint8Array>; controller: ReadableStreamDefaultController<Uint8Array> } {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const stream = new ReadableStream<Uint8Array>({
    start: c => {
      controller = c;
    }
  });
  return { stream, controller };
}

interface Source {
  start(controller: ReadableStreamDefaultController<Uint8Array>): void | Promise<void>;
  cancel?(reason: unknown): void;
}

/** The SDK's answer as an event stream, from `source`. */
function eventStream(source: Source, headers: Record<string, string> = {}): Response {
  return new Response(new ReadableStream<Uint8Array>(source), {
    headers: { 'content-type': 'text/event-stream', ...headers }
  });
}

describe('sendAnswer', () => {
  it('sends a JSON answer whole, with its length, status and headers', async () => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, result: { ok: true } });
    const app = serve(() => Response.json(JSON.parse(body), { status: 202, headers: { 'mcp-session-id': 'abc' } }));
    const reply = await app.inject({ method: 'GET', url: '/' });
    expect(reply.statusCode).toBe(202);
    expect(reply.headers['content-length']).toBe(String(Buffer.byteLength(body)));
    expect(reply.headers['transfer-encoding']).toBeUndefined();
    expect(reply.headers['content-type']).toBe('application/json');
    expect(reply.headers['mcp-session-id']).toBe('abc');
    expect(reply.body).toBe(body);
  });

  it('sends an event stream that ends at once whole, with its length, in the order its events came', async () => {
    const app = serve(() =>
      eventStream({
        async start(controller) {
          controller.enqueue(encoder.encode(': stream opened\n\n'));
          await sleep(5);
          controller.enqueue(encoder.encode('event: message\ndata: {"id":1}\n\n'));
          controller.close();
        }
      })
    );
    const reply = await app.inject({ method: 'GET', url: '/' });
    const body = ': stream opened\n\nevent: message\ndata: {"id":1}\n\n';
    expect(reply.headers['content-type']).toBe('text/event-stream');
    expect(reply.headers['x-accel-buffering']).toBe('no');
    expect(reply.headers['content-length']).toBe(String(Buffer.byteLength(body)));
    expect(reply.headers['transfer-encoding']).toBeUndefined();
    expect(reply.body).toBe(body);
  });

  it('sends a relayed event stream with the status and headers of the response it relays, but not its length', async () => {
    const sdkBody = 'event: message\ndata: {"id":1}\n\n';
    const app = Fastify();
    app.get('/', (_request, reply) => {
      const { stream, controller } = pushed();
      controller.enqueue(encoder.encode(sdkBody));
      controller.close();
      const response = new Response(stream, {
        status: 200,
        headers: { 'content-type': 'text/event-stream', 'content-length': '999', 'mcp-session-id': 'abc' }
      });
      return sendAnswer(reply, response, new EventStreamRelay(response.body!, { noteAnswers: true }));
    });
    apps.push(app);
    const reply = await app.inject({ method: 'GET', url: '/' });
    const body = `: stream opened\n\n${sdkBody}`;
    expect(reply.statusCode).toBe(200);
    expect(reply.headers['mcp-session-id']).toBe('abc');
    expect(reply.headers['x-accel-buffering']).toBe('no');
    expect(reply.headers['content-length']).toBe(String(Buffer.byteLength(body)));
    expect(reply.body).toBe(body);
  });

  it(`streams an event stream still open after ${WHOLE_STREAM_MS} ms as it comes, starting with what it sent so far`, async () => {
    let secondSent = false;
    const app = serve(() =>
      eventStream({
        async start(controller) {
          controller.enqueue(encoder.encode('event: message\ndata: 1\n\n'));
          await sleep(WHOLE_STREAM_MS + 300);
          secondSent = true;
          controller.enqueue(encoder.encode('event: message\ndata: 2\n\n'));
          controller.close();
        }
      })
    );
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    const response = await fetch(url);
    expect(response.headers.get('content-length')).toBeNull();
    expect(response.headers.get('transfer-encoding')).toBe('chunked');
    const reader = readerOf(response);
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe('event: message\ndata: 1\n\n');
    expect(secondSent).toBe(false);
    let rest = '';
    for (let read = await reader.read(); !read.done; read = await reader.read())
      rest += new TextDecoder().decode(read.value);
    expect(rest).toBe('event: message\ndata: 2\n\n');
  });

  it.each([
    ['while it is streamed', true],
    ['before it is streamed', false]
  ])('cancels the event stream when the client goes away %s', async (_when, readFirst) => {
    let cancelled: (reason: unknown) => void;
    let cancelledYet = false;
    const wasCancelled = new Promise(resolve => {
      cancelled = resolve;
    });
    const app = serve(() =>
      eventStream({
        start(controller) {
          controller.enqueue(encoder.encode(': stream opened\n\n'));
        },
        cancel(reason) {
          cancelledYet = true;
          cancelled(reason);
        }
      })
    );
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    const client = new AbortController();
    if (readFirst) {
      const response = await fetch(url, { signal: client.signal });
      const first = await readerOf(response).read();
      expect(new TextDecoder().decode(first.value)).toBe(': stream opened\n\n');
    } else {
      // Gone before the answer's headers left (they leave with the stream, after WHOLE_STREAM_MS).
      const answered = fetch(url, { signal: client.signal }).catch(() => undefined);
      await sleep(WHOLE_STREAM_MS / 4);
      expect(cancelledYet).toBe(false);
      client.abort();
      await answered;
    }
    client.abort();
    await expect(
      Promise.race([wasCancelled.then(() => 'cancelled'), sleep(5000).then(() => 'not cancelled')])
    ).resolves.toBe('cancelled');
  });
});
