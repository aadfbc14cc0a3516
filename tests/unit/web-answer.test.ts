import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { sendAnswer } from '../../src/transports/web-answer.ts';

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

  it('streams an event stream as it comes', async () => {
    const app = serve(
      () =>
        new Response(
          new ReadableStream({
            start(controller) {
              controller.enqueue(new TextEncoder().encode('event: message\ndata: {}\n\n'));
              controller.close();
            }
          }),
          { headers: { 'content-type': 'text/event-stream' } }
        )
    );
    const reply = await app.inject({ method: 'GET', url: '/' });
    expect(reply.headers['content-type']).toBe('text/event-stream');
    expect(reply.headers['content-length']).toBeUndefined();
    expect(reply.body).toBe('event: message\ndata: {}\n\n');
  });
});
