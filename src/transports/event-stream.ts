import { jsonRpcError, type JsonRpcId } from '../http/json-rpc-errors.ts';

/**
 * Server-sent event streams as sqlbridge relays them (HTML "Server-sent events", §9.2):
 * - every stream starts with a comment, so its headers and first bytes leave as soon as it is
 *   streamed (Node sends headers with the first body write; a stream that stays quiet would
 *   otherwise show the client, and every proxy on the way, nothing until its first event or
 *   keep-alive); one that ends within a moment is sent whole instead (web-answer.ts);
 * - the JSON-RPC responses it carries are noted, so that at shutdown the requests still waiting can
 *   be answered on the same stream before it ends.
 */

const encoder = new TextEncoder();

export const STREAM_OPENED = encoder.encode(': stream opened\n\n');

/** Proxies such as nginx must pass events on as they come (nginx honours this header itself). */
export const NO_PROXY_BUFFERING = { 'x-accel-buffering': 'no' } as const;

export function isEventStream(response: Response): boolean {
  return (response.headers.get('content-type') ?? '').toLowerCase().startsWith('text/event-stream');
}

export function eventFrame(data: unknown): Uint8Array {
  return encoder.encode(`event: message\ndata: ${JSON.stringify(data)}\n\n`);
}

/**
 * A source stream relayed chunk by chunk as its reader asks for them (a pull source: no pipe, no
 * writable side, no promise per chunk beyond the read itself), noting the answers it carries.
 */
export class EventStreamRelay {
  readonly body: ReadableStream<Uint8Array>;
  private readonly answered = new Set<JsonRpcId>();
  private readonly decoder = new TextDecoder();
  /** The source, read as this stream's reader asks for chunks. */
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private pending = '';
  private controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  private ended = false;

  constructor(source: ReadableStream<Uint8Array>, options: { noteAnswers: boolean }) {
    const reader = source.getReader();
    this.reader = reader;
    this.body = new ReadableStream<Uint8Array>({
      start: controller => {
        this.controller = controller;
        controller.enqueue(STREAM_OPENED);
      },
      pull: async controller => {
        // A failing source fails the relay with its error.
        const read = await reader.read();
        if (this.ended) return;
        if (read.done) {
          this.ended = true;
          controller.close();
          return;
        }
        if (options.noteAnswers) this.note(read.value);
        controller.enqueue(read.value);
      },
      cancel: reason => reader.cancel(reason)
    });
  }

  /** Ends the stream with an error event for each listed request it has not answered; the source is cancelled. */
  endWithErrors(ids: readonly JsonRpcId[], code: number, message: string): void {
    const controller = this.controller;
    if (controller === undefined || this.ended) return;
    this.ended = true;
    try {
      for (const id of ids) if (!this.answered.has(id)) controller.enqueue(eventFrame(jsonRpcError(code, message, id)));
      controller.close();
    } catch {
      // the client already went away: nothing left to tell it
    }
    this.reader.cancel().catch(() => undefined);
  }

  /** Records the ids of JSON-RPC responses in the events passing through. */
  private note(chunk: Uint8Array): void {
    this.pending += this.decoder.decode(chunk, { stream: true });
    let end = this.pending.indexOf('\n\n');
    while (end !== -1) {
      const event = this.pending.slice(0, end);
      this.pending = this.pending.slice(end + 2);
      const data = event
        .split('\n')
        .filter(line => line.startsWith('data:'))
        .map(line => line.slice(line.startsWith('data: ') ? 6 : 5))
        .join('\n');
      if (data !== '') this.noteMessage(data);
      end = this.pending.indexOf('\n\n');
    }
  }

  private noteMessage(data: string): void {
    try {
      const message = JSON.parse(data) as { id?: JsonRpcId; result?: unknown; error?: unknown };
      if (message.id !== undefined && (message.result !== undefined || message.error !== undefined)) {
        this.answered.add(message.id);
      }
    } catch {
      // not JSON: not a response
    }
  }
}

/** A response whose event stream, if it is one, goes through a relay. */
export function relayed(response: Response, relay: EventStreamRelay): Response {
  const headers = new Headers(response.headers);
  headers.delete('content-length');
  headers.set('x-accel-buffering', NO_PROXY_BUFFERING['x-accel-buffering']);
  return new Response(relay.body, { status: response.status, statusText: response.statusText, headers });
}
