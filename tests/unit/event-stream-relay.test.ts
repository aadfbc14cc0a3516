import { describe, expect, it } from 'vitest';
import { EventStreamRelay, NOTE_AFTER_BYTES, eventFrame } from '../../src/transports/event-stream.ts';

/**
 * The relay an MCP event stream goes through on its way to the client: it opens with a comment,
 * passes every chunk on as it is read, notes the JSON-RPC answers it has carried, and at shutdown
 * ends with an error for each request it has not answered, cancelling its source.
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

async function readAll(relay: EventStreamRelay): Promise<string> {
  let text = '';
  for (let read = await relay.read(); !read.done; read = await relay.read()) text += decoder.decode(read.value);
  return text;
}

/** The JSON-RPC messages of the events in a stream's text. */
function messages(text: string): { id?: number; result?: unknown; error?: { code: number; message: string } }[] {
  return [...text.matchAll(/^data: (.*)$/gm)].map(match => JSON.parse(match[1]!) as never);
}

const answer = (id: number, text = '') =>
  eventFrame({ jsonrpc: '2.0', id, result: { content: text === '' ? [] : [{ type: 'text', text }] } });
const progress = eventFrame({
  jsonrpc: '2.0',
  method: 'notifications/progress',
  params: { progressToken: 1, progress: 1 }
});
const shutdownError = (id: number) => ({
  jsonrpc: '2.0',
  id,
  error: { code: -32000, message: 'the server is shutting down' }
});

describe('the relay of an MCP event stream', () => {
  it('opens with a comment and passes every chunk on, in order, until its source ends', async () => {
    const { stream, controller } = source();
    const relay = new EventStreamRelay(stream, { noteAnswers: true });
    controller.enqueue(progress);
    controller.enqueue(answer(1));
    controller.close();
    expect(await readAll(relay)).toBe(`: stream opened\n\n${decoder.decode(progress)}${decoder.decode(answer(1))}`);
    expect(relay.unreadBytes).toBe(0);
  });

  it('at shutdown answers only the requests whose answers it has not carried, and cancels its source', async () => {
    const { stream, controller, cancelled } = source();
    const relay = new EventStreamRelay(stream, { noteAnswers: true });
    // An answer split across two chunks is still noted once its event is complete.
    const first = answer(1);
    controller.enqueue(first.subarray(0, 10));
    controller.enqueue(first.subarray(10));
    let text = '';
    while (!text.includes('"id":1')) text += decoder.decode((await relay.read()).value);
    relay.endWithErrors([1, 2], -32000, 'the server is shutting down');
    text += await readAll(relay);
    expect(text.startsWith(': stream opened\n\n')).toBe(true);
    expect(messages(text)).toEqual([{ jsonrpc: '2.0', id: 1, result: { content: [] } }, shutdownError(2)]);
    await settled();
    expect(cancelled).toHaveLength(1);
  });

  it('cut off while a read waits on its source, answers that read with the errors, then ends', async () => {
    const { stream, controller, cancelled } = source();
    const relay = new EventStreamRelay(stream, { noteAnswers: true });
    expect(decoder.decode((await relay.read()).value)).toBe(': stream opened\n\n');
    controller.enqueue(answer(1));
    await relay.read();
    const waiting = relay.read();
    relay.endWithErrors([1, 2, 3], -32000, 'the server is shutting down');
    const read = await waiting;
    expect(read.done).toBe(false);
    const text = decoder.decode(read.value) + (await readAll(relay));
    expect(messages(text)).toEqual([shutdownError(2), shutdownError(3)]);
    await settled();
    expect(cancelled).toHaveLength(1);
  });

  it(`reads what it holds for answers once it exceeds ${NOTE_AFTER_BYTES} bytes, all but the newest chunk`, async () => {
    const { stream, controller } = source();
    const relay = new EventStreamRelay(stream, { noteAnswers: true });
    await relay.read(); // the opening comment
    const large = 'x'.repeat(10_000);
    const chunks = Array.from({ length: 20 }, (_, i) => answer(i + 1, large));
    let held = 0;
    for (const chunk of chunks) {
      controller.enqueue(chunk);
      await relay.read();
      held = Math.max(held, relay.unreadBytes);
      expect(relay.unreadBytes).toBeLessThanOrEqual(NOTE_AFTER_BYTES + chunk.byteLength);
    }
    // It held nearly the bound, and it was read for answers on the way: none of the twenty is answered twice.
    expect(held).toBeGreaterThan(NOTE_AFTER_BYTES - chunks[0]!.byteLength);
    relay.endWithErrors([...Array.from({ length: 20 }, (_, i) => i + 1), 21], -32000, 'the server is shutting down');
    expect(messages(await readAll(relay))).toEqual([shutdownError(21)]);
  });

  it('notes nothing when told not to: every listed request is then answered with the error', async () => {
    const { stream, controller } = source();
    const relay = new EventStreamRelay(stream, { noteAnswers: false });
    controller.enqueue(answer(7));
    await relay.read(); // the opening comment
    await relay.read(); // the answer
    expect(relay.unreadBytes).toBe(0);
    relay.endWithErrors([7], -32000, 'stop');
    const rest = await relay.read();
    expect(messages(decoder.decode(rest.value))).toEqual([
      { jsonrpc: '2.0', id: 7, error: { code: -32000, message: 'stop' } }
    ]);
    expect((await relay.read()).done).toBe(true);
  });

  it('does nothing more at shutdown once its source has ended', async () => {
    const { stream, controller, cancelled } = source();
    const relay = new EventStreamRelay(stream, { noteAnswers: true });
    controller.close();
    expect(await readAll(relay)).toBe(': stream opened\n\n');
    relay.endWithErrors([1], -32000, 'stop');
    expect((await relay.read()).done).toBe(true);
    await settled();
    expect(cancelled).toEqual([]);
  });

  it('cancels its source when the client goes away, and gives nothing more', async () => {
    const { stream, controller, cancelled } = source();
    const relay = new EventStreamRelay(stream, { noteAnswers: true });
    controller.enqueue(answer(1));
    await relay.cancel('client gone');
    expect((await relay.read()).done).toBe(true);
    await settled();
    expect(cancelled).toEqual(['client gone']);
  });

  it('fails with its source’s error', async () => {
    const { stream, controller } = source();
    const relay = new EventStreamRelay(stream, { noteAnswers: true });
    await relay.read(); // the opening comment
    controller.error(new Error('the SDK failed'));
    await expect(relay.read()).rejects.toThrow('the SDK failed');
  });
});
