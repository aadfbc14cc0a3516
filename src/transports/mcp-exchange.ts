import type { FastifyReply } from 'fastify';
import { SHUTDOWN_MESSAGE, type InFlightCall, type InFlightCalls } from '../http/in-flight.ts';
import { JSON_RPC, jsonRpcError, type JsonRpcId } from '../http/json-rpc-errors.ts';
import { EventStreamRelay, isEventStream, type ChunkReader } from './event-stream.ts';

/** The SDK's answer; an event stream's body goes to the client through `relayed`, not on its own. */
export interface McpAnswer {
  response: Response;
  relayed?: ChunkReader;
}

/**
 * One HTTP exchange with an MCP endpoint, from the request to the end of its answer. Its abort
 * signal follows the client's connection (a 2026-07-28 client cancels a call by closing the
 * response stream). While it carries requests it is in flight for a graceful shutdown, which may
 * cut it off: every request not yet answered then gets the shutdown error, in a JSON answer if none
 * was sent yet, else as events at the end of its stream, and the SDK's work on it is aborted.
 */
export class McpExchange implements InFlightCall {
  private readonly abortController = new AbortController();
  private readonly ids: readonly JsonRpcId[];
  private readonly batch: boolean;
  private relay: EventStreamRelay | undefined;
  private interrupt: (() => void) | undefined;
  private cut = false;
  /** Requests the client cancelled (notifications/cancelled), which get no answer. */
  private cancelled: Set<JsonRpcId> | undefined;

  constructor(reply: FastifyReply, body: { ids: readonly JsonRpcId[]; batch: boolean }, inFlight: InFlightCalls) {
    this.ids = body.ids;
    this.batch = body.batch;
    const release = this.ids.length > 0 ? inFlight.track(this) : undefined;
    const res = reply.raw;
    res.once('close', () => {
      if (!res.writableFinished) this.abortController.abort();
      release?.();
    });
  }

  /** Aborted when the client goes away before the answer is complete, or at shutdown. */
  get signal(): AbortSignal {
    return this.abortController.signal;
  }

  /** The SDK's answer, its event stream relayed; or the shutdown error if the exchange is cut off first. */
  async answer(pending: Promise<Response>): Promise<McpAnswer> {
    // One promise, settled by the answer or by a cut-off, whichever comes first. (A `Promise.race`
    // of the answer with a promise that only a cut-off settles, and so stayed pending, cost each
    // call about 0.55 KB more moved to V8's old generation: docs/performance.md.)
    const response = await new Promise<Response | undefined>((resolve, reject) => {
      this.interrupt = () => {
        resolve(undefined);
      };
      if (this.cut) resolve(undefined);
      else pending.then(resolve, reject);
    });
    this.interrupt = undefined;
    if (response === undefined) {
      pending.catch(() => undefined);
      this.abortController.abort();
      const errors = this.ids.map(id => jsonRpcError(JSON_RPC.serverError, SHUTDOWN_MESSAGE, id));
      return { response: Response.json(this.batch ? errors : errors[0]) };
    }
    if (!isEventStream(response) || response.body === null) return { response };
    this.relay = new EventStreamRelay(response.body, { noteAnswers: this.ids.length > 0 });
    if (this.allCancelled()) this.relay.end();
    return { response, relayed: this.relay };
  }

  /**
   * The client cancelled one of the requests: the SDK stops it and sends no answer for it. Once every
   * request of the exchange is cancelled, its event stream ends, with nothing more to wait for.
   */
  cancel(id: JsonRpcId): void {
    (this.cancelled ??= new Set()).add(id);
    if (this.allCancelled()) this.relay?.end();
  }

  private allCancelled(): boolean {
    const cancelled = this.cancelled;
    return cancelled !== undefined && this.ids.every(id => cancelled.has(id));
  }

  cutOff(): void {
    this.cut = true;
    if (this.relay === undefined) {
      this.interrupt?.();
      return;
    }
    this.relay.endWithErrors(this.ids, JSON_RPC.serverError, SHUTDOWN_MESSAGE);
    this.abortController.abort();
  }
}
