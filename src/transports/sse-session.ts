import {
  type AuthInfo,
  isJSONRPCRequest,
  isJSONRPCErrorResponse,
  isJSONRPCResultResponse,
  type JSONRPCMessage,
  type MessageExtraInfo,
  type RequestId,
  type Transport
} from '@modelcontextprotocol/server';
import { SHUTDOWN_MESSAGE, type InFlightCalls } from '../http/in-flight.ts';
import { JSON_RPC, jsonRpcError } from '../http/json-rpc-errors.ts';
import { randomId } from '../ids.ts';
import { cancelledId } from './cancellations.ts';
import { eventFrame } from './event-stream.ts';

/**
 * One client of the HTTP+SSE transport (MCP 2024-11-05, "Transports"): the server speaks on one
 * event stream, the client posts its messages to the endpoint named by the stream's first event.
 * An MCP SDK `Transport` (see the SDK's "Custom transports" guide), so the same server instances
 * and tool handlers serve it as serve Streamable HTTP. A request the client posted is in flight
 * until its response leaves on the stream; a shutdown that cuts it off answers it with an error.
 */

const encoder = new TextEncoder();

/** The same bytes for every stream: a pushed chunk is never modified. */
const KEEP_ALIVE = encoder.encode(': keep-alive\n\n');

/**
 * Bytes a stream may hold that its client has not read yet (beyond what the socket takes). Fastify
 * stops reading a stream whose socket is full, and a client that posts requests without reading their
 * answers would have them pile up here for good; past this, the stream is ended. A few of the largest
 * answers (a result at the character budget, carried twice) fit.
 */
export const MAX_UNREAD_BYTES = 1024 * 1024;

/** Measures a stream's queue in bytes (one object shared by every stream). */
const UNREAD = new ByteLengthQueuingStrategy({ highWaterMark: MAX_UNREAD_BYTES });

/** What every stream of one environment's HTTP+SSE endpoint shares (one object for all of them). */
export interface SseEndpoint {
  environment: string;
  /** The path clients post to; the session id is added as the `sessionId` query parameter. */
  messagesPath: string;
  keepAliveMs: number;
  inFlight: InFlightCalls;
  /** Called once per session, when its stream has ended for any reason. */
  onEnd: (session: SseSession) => void;
  /**
   * Whether the token a stream was opened with still stands (absent without OAuth): asked at each
   * keep-alive, the stream ends when it does not (a revoked grant, a user disabled or removed).
   */
  stillValid?: (auth: AuthInfo) => Promise<boolean>;
  /**
   * Connects an MCP server to a session. Called when its first message arrives, so that an idle
   * stream holds no server; a failure ends the stream.
   */
  serve: (session: SseSession) => Promise<void>;
}

/** Who opened one stream. */
export interface SseCaller {
  /** Only they may post to it. */
  owner: string;
  /**
   * The verified token it was opened with (absent without OAuth), for the server serving it; the
   * stream ends by itself when the token expires, or when it no longer stands (SseEndpoint.stillValid).
   */
  auth?: AuthInfo;
}

/*
 * An idle stream is what a server holds most of, so a session keeps little of its own: what its
 * endpoint shares is one object, the calls it tracks are created with its first request, and its
 * keep-alives come from a timer shared by every stream (KeepAlives, below).
 */
export class SseSession implements Transport {
  readonly sessionId = randomId();
  readonly owner: string;
  readonly auth: AuthInfo | undefined;
  /**
   * The event stream, as Fastify sends it. A web stream: Fastify reads one with a reader and a single
   * watcher on the response, where a Node stream is piped and watched at both ends, which holds more
   * per idle client than the web stream itself does.
   */
  readonly body: ReadableStream<Uint8Array>;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  // Set by the MCP server when it connects; declared only, so an idle session carries none of them.
  declare onclose?: () => void;
  declare onerror?: (error: Error) => void;
  declare onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;
  private readonly endpoint: SseEndpoint;
  /** The requests running, each with the release of its in-flight count; created with the first. */
  private running: Map<RequestId, () => void> | undefined;
  /** Requests answered with the shutdown error, whose late answers are dropped. */
  private cutOff: Set<RequestId> | undefined;
  private expiry: NodeJS.Timeout | undefined;
  private ended = false;
  private opened = false;
  /** Settles once a server is connected (see SseEndpoint.serve). */
  private serving: Promise<void> | undefined;
  private served = false;

  constructor(endpoint: SseEndpoint, caller: SseCaller) {
    this.endpoint = endpoint;
    this.owner = caller.owner;
    this.auth = caller.auth;
    this.body = new ReadableStream<Uint8Array>(
      {
        start: controller => {
          this.controller = controller;
        },
        cancel: () => this.end()
      },
      UNREAD
    );
  }

  get environment(): string {
    return this.endpoint.environment;
  }

  /** The MCP SDK's Transport.start: the stream is already open by then. */
  async start(): Promise<void> {
    this.open();
  }

  /** Sends the endpoint event and starts the keep-alives and the expiry. */
  open(): void {
    if (this.opened) return;
    this.opened = true;
    this.write(`event: endpoint\ndata: ${this.endpoint.messagesPath}?sessionId=${this.sessionId}\n\n`);
    keepAlivesEvery(this.endpoint.keepAliveMs).add(this);
    const expiresAt = this.auth?.expiresAt;
    if (expiresAt !== undefined) {
      this.expiry = setTimeout(() => void this.close(), Math.max(0, expiresAt * 1000 - Date.now()));
      this.expiry.unref();
    }
  }

  /** Sends a keep-alive comment (KeepAlives calls it once per interval), and asks whether its token still stands. */
  keepAlive(): void {
    this.enqueue(KEEP_ALIVE);
    const { auth } = this;
    if (auth === undefined || this.endpoint.stillValid === undefined) return;
    void this.endpoint.stillValid(auth).then(valid => {
      if (!valid) void this.close();
    });
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (this.ended) throw new Error('the event stream has ended');
    if (isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message)) {
      const id = message.id;
      if (id !== undefined && this.cutOff?.delete(id) === true) return;
      if (id !== undefined) this.settle(id);
    }
    this.enqueue(eventFrame(message));
  }

  /**
   * Why a posted message cannot be delivered, or undefined: the stream has ended, or it is a request
   * whose id is already running (its answer could not be told apart).
   */
  refusal(message: JSONRPCMessage): string | undefined {
    if (this.ended) return 'the event stream has ended';
    if (isJSONRPCRequest(message) && this.running?.has(message.id) === true) {
      return `the id ${JSON.stringify(message.id)} belongs to a request still running`;
    }
    return undefined;
  }

  /**
   * Answers a request `refusal` turned down, on the stream (for one relayed from another replica,
   * whose HTTP answer has been sent); a request running under the same id is left alone.
   */
  refuse(id: RequestId, refusal: string): void {
    this.enqueue(eventFrame(jsonRpcError(JSON_RPC.invalidRequest, `Invalid Request: ${refusal}`, id)));
  }

  /** A message the client posted, already checked with `refusal`. A request is in flight until answered. */
  receive(message: JSONRPCMessage, extra: MessageExtraInfo): void {
    if (this.ended) return;
    // The SDK stops a cancelled request and sends no answer: it is no longer running, and its id is free.
    const cancelled = cancelledId(message);
    if (cancelled !== undefined) this.settle(cancelled);
    if (isJSONRPCRequest(message)) {
      const id = message.id;
      this.running ??= new Map();
      this.running.set(id, this.endpoint.inFlight.track({ cutOff: () => this.stop(id) }));
    }
    if (this.served) {
      this.onmessage?.(message, extra);
      return;
    }
    this.serving ??= this.endpoint.serve(this).then(
      () => {
        this.served = true;
      },
      () => void this.close()
    );
    // Delivered in order once the server is connected; a stream that failed to get one has ended.
    void this.serving.then(() => {
      if (this.served) this.onmessage?.(message, extra);
    });
  }

  async close(): Promise<void> {
    if (this.ended) return;
    try {
      this.controller.close();
    } catch {
      // already closed or errored
    }
    this.end();
  }

  /** Answers a running request with the shutdown error; its late answer is dropped. */
  private stop(id: RequestId): void {
    if (this.running?.has(id) !== true) return;
    this.cutOff ??= new Set();
    this.cutOff.add(id);
    this.enqueue(eventFrame(jsonRpcError(JSON_RPC.serverError, SHUTDOWN_MESSAGE, id)));
    this.settle(id);
  }

  private settle(id: RequestId): void {
    const release = this.running?.get(id);
    this.running?.delete(id);
    release?.();
  }

  private write(text: string): void {
    this.enqueue(encoder.encode(text));
  }

  private enqueue(bytes: Uint8Array): void {
    if (this.ended) return;
    try {
      this.controller.enqueue(bytes);
    } catch {
      // the stream is no longer readable: it has ended
      this.end();
      return;
    }
    // The client does not read what it is sent: its connection is closed (Fastify destroys the
    // response of a stream that errors) rather than holding its answers without end.
    if ((this.controller.desiredSize ?? 0) < 0) {
      this.controller.error(new Error('the client does not read its event stream'));
      this.end();
    }
  }

  /** The stream has ended: the client went away (Fastify cancels the body), or it was closed here. */
  private end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.opened) keepAlivesEvery(this.endpoint.keepAliveMs).remove(this);
    if (this.expiry !== undefined) clearTimeout(this.expiry);
    this.expiry = undefined;
    for (const id of [...(this.running?.keys() ?? [])]) this.settle(id);
    this.endpoint.onEnd(this);
    this.onclose?.();
  }
}

/**
 * The keep-alive comments of the open streams come from one timer per interval, not one per stream.
 * A stream joins one of SLICES groups, the one served last; every interval/SLICES the next group is
 * sent its comments. So each stream gets one comment per interval, the first within one interval of
 * its opening (as with a timer of its own), and the writes are spread over the interval instead of
 * coming all at once.
 */
const SLICES = 16;

class KeepAlives {
  private readonly groups: Set<SseSession>[] = Array.from({ length: SLICES }, () => new Set<SseSession>());
  private readonly intervalMs: number;
  /** The group the next tick serves. */
  private next = 0;
  private count = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(intervalMs: number) {
    this.intervalMs = intervalMs;
  }

  add(session: SseSession): void {
    this.groups[(this.next + SLICES - 1) % SLICES]?.add(session);
    this.count++;
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.tick(), Math.max(1, Math.floor(this.intervalMs / SLICES)));
      this.timer.unref();
    }
  }

  remove(session: SseSession): void {
    for (const group of this.groups) {
      if (!group.delete(session)) continue;
      if (--this.count === 0) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
      return;
    }
  }

  private tick(): void {
    const group = this.groups[this.next];
    this.next = (this.next + 1) % SLICES;
    for (const session of group ?? []) session.keepAlive();
  }
}

const keepAlives = new Map<number, KeepAlives>();

function keepAlivesEvery(intervalMs: number): KeepAlives {
  let found = keepAlives.get(intervalMs);
  if (found === undefined) {
    found = new KeepAlives(intervalMs);
    keepAlives.set(intervalMs, found);
  }
  return found;
}
