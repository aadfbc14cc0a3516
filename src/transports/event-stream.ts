import { jsonRpcError, type JsonRpcId } from '../http/json-rpc-errors.ts';

/**
 * Server-sent event streams as sqlbridge relays them (HTML "Server-sent events", §9.2):
 * - every stream starts with a comment, so its headers and first bytes leave as soon as it is
 *   streamed (Node sends headers with the first body write; a stream that stays quiet would
 *   otherwise show the client, and every proxy on the way, nothing until its first event or
 *   keep-alive); one that ends within a moment is sent whole instead (web-answer.ts);
 * - the JSON-RPC responses it carries are noted, so that at shutdown the requests still waiting can
 *   be answered on the same stream before it ends. What it relays is read for answers only then
 *   (most streams end first, every request answered), or once it holds more than NOTE_AFTER_BYTES
 *   of it.
 */

const encoder = new TextEncoder();

export const STREAM_OPENED = encoder.encode(': stream opened\n\n');

/** Proxies such as nginx must pass events on as they come (nginx honours this header itself). */
export const NO_PROXY_BUFFERING = { 'x-accel-buffering': 'no' } as const;

export function isEventStream(response: Response): boolean {
  return (response.headers.get('content-type') ?? '').toLowerCase().startsWith('text/event-stream');
}

/** Relayed chunks held unread for answers are read once they come to this much, all but the newest. */
export const NOTE_AFTER_BYTES = 64 * 1024;

export function eventFrame(data: unknown): Uint8Array {
  return encoder.encode(`event: message\ndata: ${JSON.stringify(data)}\n\n`);
}

export type ChunkRead = Awaited<ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']>>;

/** What reads an event stream chunk by chunk: a web stream's reader, or a relay. */
export interface ChunkReader {
  read(): Promise<ChunkRead>;
  cancel(reason?: unknown): Promise<void>;
}

const DONE: ChunkRead = Object.freeze({ done: true, value: undefined });

/**
 * A source stream relayed chunk by chunk as it is read (no stream of its own: each read is a read
 * of the source), after an opening comment, noting the answers it carries.
 */
export class EventStreamRelay implements ChunkReader {
  private readonly answered = new Set<JsonRpcId>();
  private decoder: InstanceType<typeof TextDecoder> | undefined;
  /** The source, read as this relay is. */
  private readonly source: ReadableStreamDefaultReader<Uint8Array>;
  private readonly noteAnswers: boolean;
  /** Chunks to hand out before reading the source again: the opening comment, then errors at shutdown. */
  private readonly queued: Uint8Array[] = [STREAM_OPENED];
  private pending = '';
  /** Chunks relayed and not yet read for answers, oldest first. */
  private kept: Uint8Array[] = [];
  private keptBytes = 0;
  /** Nothing more comes from the source: it ended, or the relay was cut off or cancelled. */
  private ended = false;

  constructor(source: ReadableStream<Uint8Array>, options: { noteAnswers: boolean }) {
    this.source = source.getReader();
    this.noteAnswers = options.noteAnswers;
  }

  /** Bytes relayed and not yet read for answers: at most NOTE_AFTER_BYTES, and the newest chunk. */
  get unreadBytes(): number {
    return this.keptBytes;
  }

  /** The next chunk; a failing source fails the read with its error. */
  async read(): Promise<ChunkRead> {
    for (;;) {
      const next = this.queued.shift();
      if (next !== undefined) return { done: false, value: next };
      if (this.ended) return DONE;
      const read = await this.source.read();
      // Cut off or cancelled while this read waited: what was queued then, and nothing of the source.
      if (this.stopped()) continue;
      if (read.done) {
        this.ended = true;
        this.kept = [];
        this.keptBytes = 0;
        return DONE;
      }
      if (this.noteAnswers) this.keep(read.value);
      return read;
    }
  }

  /** Whether nothing more comes from the source (a method: a read's await may have changed it). */
  private stopped(): boolean {
    return this.ended;
  }

  /** The client went away: the source is cancelled. */
  async cancel(reason?: unknown): Promise<void> {
    this.ended = true;
    this.queued.length = 0;
    await this.source.cancel(reason);
  }

  /** Ends the stream after what is queued; the source is cancelled. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.kept = [];
    this.keptBytes = 0;
    this.source.cancel().catch(() => undefined);
  }

  /** Ends the stream with an error event for each listed request it has not answered; the source is cancelled. */
  endWithErrors(ids: readonly JsonRpcId[], code: number, message: string): void {
    if (this.ended) return;
    this.noteKept(0);
    for (const id of ids) if (!this.answered.has(id)) this.queued.push(eventFrame(jsonRpcError(code, message, id)));
    this.end();
  }

  private keep(chunk: Uint8Array): void {
    this.kept.push(chunk);
    this.keptBytes += chunk.byteLength;
    // The newest chunk is often an answer the stream ends with: it is left for the end.
    if (this.keptBytes > NOTE_AFTER_BYTES) this.noteKept(1);
  }

  /** Reads the kept chunks for answers, all but the newest `spare`. */
  private noteKept(spare: number): void {
    const kept = this.kept;
    const unread = kept.splice(kept.length - spare);
    this.kept = unread;
    this.keptBytes = unread.reduce((bytes, chunk) => bytes + chunk.byteLength, 0);
    for (const chunk of kept) this.note(chunk);
  }

  /** Records the ids of JSON-RPC responses in the events of a chunk (an event may span chunks). */
  private note(chunk: Uint8Array): void {
    this.decoder ??= new TextDecoder();
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
