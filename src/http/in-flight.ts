import type { FastifyReply, FastifyRequest } from 'fastify';
import { JSON_RPC, jsonRpcError } from './json-rpc-errors.ts';

/**
 * The MCP calls being served, for a graceful shutdown: once draining starts no new request is
 * accepted, the calls already running get until the deadline to finish, and those still running
 * then are cut off: answered with a JSON-RPC error and stopped on the database.
 */

export interface InFlightCall {
  /** Answers the call with the shutdown error and stops its work. Called at most once. */
  cutOff(): void;
}

export interface DrainOutcome {
  /** Calls running when draining started. */
  running: number;
  /** Of those, the ones still running at the deadline. */
  cutOff: number;
}

/** How long cut-off calls get to write their error answers before the server closes anyway. */
const CUT_OFF_GRACE_MS = 5_000;

export const SHUTDOWN_MESSAGE =
  'Server shutting down: the request was stopped before it finished; send it again in a moment';

/** What a request that arrives while the server shuts down is told: nothing of it ran (a write included). */
export const NOT_STARTED_MESSAGE = 'Server shutting down: the request was not run; send it again in a moment';

export class InFlightCalls {
  private readonly calls = new Set<InFlightCall>();
  private readonly idleWaiters = new Set<() => void>();
  private isDraining = false;
  private hurried = false;

  get draining(): boolean {
    return this.isDraining;
  }

  get size(): number {
    return this.calls.size;
  }

  /** Counts a call until the returned function is called (once its answer is complete). */
  track(call: InFlightCall): () => void {
    this.calls.add(call);
    return () => {
      if (!this.calls.delete(call) || this.calls.size > 0) return;
      for (const wake of this.idleWaiters) wake();
    };
  }

  async drain(deadlineMs: number): Promise<DrainOutcome> {
    this.isDraining = true;
    const running = this.calls.size;
    if (!this.hurried) await this.idle(deadlineMs);
    const remaining = [...this.calls];
    for (const call of remaining) call.cutOff();
    if (remaining.length > 0) await this.idle(CUT_OFF_GRACE_MS);
    return { running, cutOff: remaining.length };
  }

  /** Ends the wait for running calls now: they are cut off at once (an impatient second signal). */
  hurry(): void {
    this.hurried = true;
    for (const wake of [...this.idleWaiters]) wake();
  }

  private idle(timeoutMs: number): Promise<void> {
    if (this.calls.size === 0) return Promise.resolve();
    return new Promise(resolve => {
      const done = (): void => {
        clearTimeout(timer);
        this.idleWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.idleWaiters.add(done);
    });
  }
}

/** While draining, new requests are refused with 503 and the connection is not kept. */
export function refuseWhileDraining(calls: InFlightCalls) {
  return async function drainingGuard(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (!calls.draining) return;
    reply.code(503).header('retry-after', '5').header('connection', 'close');
    await (request.routeOptions.config.jsonRpc === true
      ? reply.send(jsonRpcError(JSON_RPC.serverError, NOT_STARTED_MESSAGE))
      : reply.send({ error: 'unavailable', message: 'the server is shutting down' }));
  };
}
