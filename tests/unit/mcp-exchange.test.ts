import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import type { FastifyReply } from 'fastify';
import { describe, expect, it } from 'vitest';
import { InFlightCalls, SHUTDOWN_MESSAGE } from '../../src/http/in-flight.ts';
import { McpExchange } from '../../src/transports/mcp-exchange.ts';

/** One exchange's answer: the SDK's, or the shutdown error when a graceful shutdown cuts it off first. */

function exchange(ids: (string | number)[] = [7]): { exchange: McpExchange; inFlight: InFlightCalls } {
  const raw = new ServerResponse(new IncomingMessage(new Socket()));
  const inFlight = new InFlightCalls();
  return { exchange: new McpExchange({ raw } as FastifyReply, { ids, batch: false }, inFlight), inFlight };
}

/** A promise settled from outside, as the SDK's answer is settled while the exchange waits. */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (reason: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('McpExchange.answer', () => {
  it("is the SDK's answer when it comes first, and a later cut-off leaves it alone", async () => {
    const { exchange: call } = exchange();
    const sdk = Response.json({ jsonrpc: '2.0', id: 7, result: {} });
    const answer = await call.answer(Promise.resolve(sdk));
    expect(answer.response).toBe(sdk);
    call.cutOff();
    expect(call.signal.aborted).toBe(false);
  });

  it("fails as the SDK's answer fails", async () => {
    const { exchange: call } = exchange();
    await expect(call.answer(Promise.reject(new Error('the SDK failed')))).rejects.toThrow('the SDK failed');
  });

  it('is the shutdown error when the exchange is cut off while the SDK works, and stops that work', async () => {
    const { exchange: call, inFlight } = exchange();
    expect(inFlight.size).toBe(1);
    const sdk = deferred<Response>();
    const answering = call.answer(sdk.promise);
    call.cutOff();
    const { response } = await answering;
    expect(await response.json()).toEqual({
      jsonrpc: '2.0',
      id: 7,
      error: { code: -32000, message: SHUTDOWN_MESSAGE }
    });
    expect(call.signal.aborted).toBe(true);
    // The SDK's work, stopped, fails afterwards: nothing is left to report it as unhandled.
    sdk.reject(new Error('aborted'));
    await new Promise(resolve => setImmediate(resolve));
  });

  it('is the shutdown error at once when the exchange was cut off before the SDK was asked', async () => {
    const { exchange: call } = exchange(['a', 'b']);
    call.cutOff();
    const sdk = deferred<Response>();
    const { response } = await call.answer(sdk.promise);
    expect(await response.json()).toMatchObject({ id: 'a', error: { message: SHUTDOWN_MESSAGE } });
    expect(call.signal.aborted).toBe(true);
    sdk.reject(new Error('aborted'));
    await new Promise(resolve => setImmediate(resolve));
  });
});
