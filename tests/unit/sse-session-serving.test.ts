import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import { describe, expect, it } from 'vitest';
import { InFlightCalls } from '../../src/http/in-flight.ts';
import { SseSession } from '../../src/transports/sse-session.ts';

function session(serve: (session: SseSession) => Promise<void>) {
  const ended: SseSession[] = [];
  const inFlight = new InFlightCalls();
  const created = new SseSession(
    {
      environment: 'demo',
      messagesPath: '/demo/messages',
      keepAliveMs: 60_000,
      inFlight,
      serve,
      onEnd: s => ended.push(s)
    },
    { owner: 'someone' }
  );
  return { session: created, ended, inFlight };
}

const call = (id: number): JSONRPCMessage => ({ jsonrpc: '2.0', id, method: 'tools/list' });

async function firstEvent(stream: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stream.getReader();
  const { value } = await reader.read();
  reader.releaseLock();
  return new TextDecoder().decode(value);
}

describe('an HTTP+SSE session', () => {
  it('opens its stream with no MCP server, and connects one when the first message arrives', async () => {
    let serves = 0;
    const delivered: unknown[] = [];
    const { session: s } = session(async connected => {
      serves++;
      await new Promise(resolve => setTimeout(resolve, 20));
      connected.onmessage = message => delivered.push((message as { id: number }).id);
    });
    s.open();
    expect(await firstEvent(s.body)).toBe(`event: endpoint\ndata: /demo/messages?sessionId=${s.sessionId}\n\n`);
    expect(serves).toBe(0);
    s.receive(call(1), {});
    s.receive(call(2), {});
    expect(delivered).toEqual([]);
    await new Promise(resolve => setTimeout(resolve, 50));
    s.receive(call(3), {});
    expect(serves).toBe(1);
    expect(delivered).toEqual([1, 2, 3]);
    await s.close();
  });

  it('ends the stream, answering nothing and holding no call in flight, when no server can be connected', async () => {
    const { session: s, ended, inFlight } = session(() => Promise.reject(new Error('no server')));
    s.open();
    s.receive(call(1), {});
    expect(inFlight.size).toBe(1);
    await new Promise(resolve => setTimeout(resolve, 10));
    expect(ended).toEqual([s]);
    expect(inFlight.size).toBe(0);
  });
});
