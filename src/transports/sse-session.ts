import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import {
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
import { eventFrame } from './event-stream.ts';

/**
 * One client of the HTTP+SSE transport (MCP 2024-11-05, "Transports"): the server speaks on one
 * event stream, the client posts its messages to the endpoint named by the stream's first event.
 * An MCP SDK `Transport` (see the SDK's "Custom transports" guide), so the same server instances
 * and tool handlers serve it as serve Streamable HTTP. A request the client posted is in flight
 * until its response leaves on the stream; a shutdown that cuts it off answers it with an error.
 */

const encoder = new TextEncoder();

export interface SseSessionOptions {
  environment: string;
  /** Who opened the stream; only they may post to it. */
  owner: string;
  /** The path clients post to; the session id is added as the `sessionId` query parameter. */
  messagesPath: string;
  keepAliveMs: number;
  /** When the stream ends by itself (the expiry of the token that opened it), in ms since the epoch. */
  endsAt?: number;
  inFlight: InFlightCalls;
  /** Called once, when the stream has ended for any reason. */
  onEnd: (session: SseSession) => void;
  /**
   * Connects an MCP server to the session. Called when the first message arrives, so that an idle
   * stream holds no server; a failure ends the stream.
   */
  serve: (session: SseSession) => Promise<void>;
}

export class SseSession implements Transport {
  readonly sessionId = randomUUID();
  readonly environment: string;
  readonly owner: string;
  /** The event stream, as Fastify sends it (a Node stream: lighter than a web stream per idle client). */
  readonly body = new PassThrough();
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;
  private readonly options: SseSessionOptions;
  private readonly running = new Map<RequestId, () => void>();
  private readonly cutOff = new Set<RequestId>();
  private timers: NodeJS.Timeout[] = [];
  private ended = false;
  private opened = false;
  /** Settles once a server is connected (see SseSessionOptions.serve). */
  private serving: Promise<void> | undefined;
  private served = false;

  constructor(options: SseSessionOptions) {
    this.options = options;
    this.environment = options.environment;
    this.owner = options.owner;
    // The client went away (Fastify destroys the stream), or the stream was ended here.
    this.body.once('close', () => this.end());
  }

  /** The MCP SDK's Transport.start: the stream is already open by then. */
  async start(): Promise<void> {
    this.open();
  }

  /** Sends the endpoint event and starts the keep-alives and the expiry. */
  open(): void {
    if (this.opened) return;
    this.opened = true;
    this.write(`event: endpoint\ndata: ${this.options.messagesPath}?sessionId=${this.sessionId}\n\n`);
    const keepAlive = setInterval(() => {
      this.write(': keep-alive\n\n');
    }, this.options.keepAliveMs);
    keepAlive.unref();
    this.timers.push(keepAlive);
    if (this.options.endsAt !== undefined) {
      const expiry = setTimeout(() => void this.close(), Math.max(0, this.options.endsAt - Date.now()));
      expiry.unref();
      this.timers.push(expiry);
    }
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (this.ended) throw new Error('the event stream has ended');
    if (isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message)) {
      const id = message.id;
      if (id !== undefined && this.cutOff.delete(id)) return;
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
    if (isJSONRPCRequest(message) && this.running.has(message.id)) {
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
    if (isJSONRPCRequest(message)) {
      const id = message.id;
      this.running.set(id, this.options.inFlight.track({ cutOff: () => this.stop(id) }));
    }
    if (this.served) {
      this.onmessage?.(message, extra);
      return;
    }
    this.serving ??= this.options.serve(this).then(
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
    this.body.end();
    this.end();
  }

  /** Answers a running request with the shutdown error; its late answer is dropped. */
  private stop(id: RequestId): void {
    if (!this.running.has(id)) return;
    this.cutOff.add(id);
    this.enqueue(eventFrame(jsonRpcError(JSON_RPC.serverError, SHUTDOWN_MESSAGE, id)));
    this.settle(id);
  }

  private settle(id: RequestId): void {
    const release = this.running.get(id);
    this.running.delete(id);
    release?.();
  }

  private write(text: string): void {
    this.enqueue(encoder.encode(text));
  }

  private enqueue(bytes: Uint8Array): void {
    if (this.ended) return;
    this.body.write(bytes);
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers = [];
    for (const id of [...this.running.keys()]) this.settle(id);
    this.options.onEnd(this);
    this.onclose?.();
  }
}
