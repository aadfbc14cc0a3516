import { describe, expect, it } from 'vitest';
import { EventStreamRelay, eventFrame } from '../../src/transports/event-stream.ts';

/**
 * The relay an MCP event stream goes through on its way to the client: it opens with a comment,
 * passes every chunk on as the client reads, notes the JSON-RPC answers it has carried, and at
 * shutdown ends with an error for each request it has not answered, cancelling its source.
 */

const decoder = new TextDecoder();
/** Lets whatever the streams do in reaction to a cancellation run. */
const settled = (): Promise<void> => new Promise(resolve => setImmediate(resolve));

/** A source whose chunks are pushed by the test, and which tells whether (and why) it was cancelled. */
function source() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const cancelled: unknown[] = [];
  const stream = new ReadableStream<Uint8Array>({
    start: c => {
      controller = c;
    },
    cancel: reason => {
      cancelled.push(reason ?? 'cancelled');
    }
  });
  return { stream, controller, cancelled };
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += decoder.decode(chunk);
  return text;
}

/** The JSON-RPC messages of the events in a stream's text. */
function messages(text: string): { id?: number; result?: unknown; error?: { code: number; message: string } }[] {
  return [...text.matchAll(/^data: (.*)$/gm)].map(match => JSON.parse(match[1]!) as never);
}

const answer = (id: number) => eventFrame({ jsonrpc: '2.0', id, result: { content: [] } });
const progress = eventFrame({
  jsonrpc: '2.0',
  method: 'notifications/progress',
  params: { progressToken: 1, progress: 1 }
});

describe('the relay of an MCP event stream', () => {
  it('opens with a comment and passes every chunk on, in order, until its source ends', async () => {
    const { stream, controller } = source();
    const relay = new EventStreamRelay(stream, { noteAnswers: true });
    controller.enqueue(progress);
    controller.enqueue(answer(1));
    controller.close();
    expect(await readAll(relay.body)).toBe(
      `: stream opened\n\n${decoder.decode(progress)}${decoder.decode(answer(1))}`
    );
  });

  it('at shutdown answers only the requests whose answers it has not carried, and cancels its source', async () => {
    const { stream, controller, cancelled } = source();
    const relay = new EventStreamRelay(stream, { noteAnswers: true });
    const reader = relay.body.getReader();
    // An answer split across two chunks is still noted once its event is complete.
    const first = answer(1);
    controller.enqueue(first.subarray(0, 10));
    controller.enqueue(first.subarray(10));
    let text = '';
    while (!text.includes('"id":1')) text += decoder.decode((await reader.read()).value);
    relay.endWithErrors([1, 2], -32000, 'the server is shutting down');
    for (let read = await reader.read(); !read.done; read = await reader.read()) text += decoder.decode(read.value);
    expect(text.startsWith(': stream opened\n\n')).toBe(true);
    expect(messages(text)).toEqual([
      { jsonrpc: '2.0', id: 1, result: { content: [] } },
      { jsonrpc: '2.0', id: 2, error: { code: -32000, message: 'the server is shutting down' } }
    ]);
    await settled();
    expect(cancelled).toHaveLength(1);
  });

  it('notes nothing when told not to: every listed request is then answered with the error', async () => {
    const { stream, controller } = source();
    const relay = new EventStreamRelay(stream, { noteAnswers: false });
    const reader = relay.body.getReader();
    controller.enqueue(answer(7));
    await reader.read(); // the opening comment
    await reader.read(); // the answer
    relay.endWithErrors([7], -32000, 'stop');
    const rest = await reader.read();
    expect(messages(decoder.decode(rest.value))).toEqual([
      { jsonrpc: '2.0', id: 7, error: { code: -32000, message: 'stop' } }
    ]);
    expect((await reader.read()).done).toBe(true);
  });

  it('does nothing more at shutdown once its source has ended', async () => {
    const { stream, controller, cancelled } = source();
    const relay = new EventStreamRelay(stream, { noteAnswers: true });
    controller.close();
    expect(await readAll(relay.body)).toBe(': stream opened\n\n');
    relay.endWithErrors([1], -32000, 'stop');
    await settled();
    expect(cancelled).toEqual([]);
  });

  it('cancels its source when the client goes away', async () => {
    const { stream, cancelled } = source();
    const relay = new EventStreamRelay(stream, { noteAnswers: true });
    await relay.body.cancel('client gone');
    await settled();
    expect(cancelled).toEqual(['client gone']);
  });

  it('fails with its source’s error', async () => {
    const { stream, controller } = source();
    const relay = new EventStreamRelay(stream, { noteAnswers: true });
    const reader = relay.body.getReader();
    await reader.read(); // the opening comment
    controller.error(new Error('the SDK failed'));
    await expect(reader.read()).rejects.toThrow('the SDK failed');
  });
});
