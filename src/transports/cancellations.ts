import type { ServerResponse } from 'node:http';
import type { JsonRpcId } from '../http/json-rpc-errors.ts';
import type { McpExchange } from './mcp-exchange.ts';

/**
 * The requests of 2025-era sessions whose answers are still to come on their POST's event stream,
 * by session and request id, so that a `notifications/cancelled` ends the stream of the request it
 * names. The MCP SDK stops a cancelled request and, as the specification asks, sends no answer for
 * it: its stream would otherwise stay open, sending keep-alives, and the call be counted as running
 * until the client went away or a shutdown cut it off.
 */
export class CancellableRequests {
  private readonly waiting = new Map<string, McpExchange>();

  /** The exchange answers `ids` in `sessionId` until its response closes. */
  add(sessionId: string, ids: readonly JsonRpcId[], exchange: McpExchange, response: ServerResponse): void {
    const keys = ids.map(id => key(sessionId, id));
    for (const each of keys) this.waiting.set(each, exchange);
    response.once('close', () => {
      for (const each of keys) if (this.waiting.get(each) === exchange) this.waiting.delete(each);
    });
  }

  /** Tells the exchanges of the requests that the cancellations in `body` (one message or a batch) name. */
  cancel(sessionId: string, body: unknown): void {
    for (const message of Array.isArray(body) ? body : [body]) {
      const id = cancelledId(message);
      if (id !== undefined) this.waiting.get(key(sessionId, id))?.cancel(id);
    }
  }
}

function key(sessionId: string, id: JsonRpcId): string {
  return `${sessionId} ${typeof id} ${String(id)}`;
}

/** The request a `notifications/cancelled` names, or undefined for any other message. */
export function cancelledId(message: unknown): string | number | undefined {
  if (typeof message !== 'object' || message === null) return undefined;
  const { method, params } = message as { method?: unknown; params?: { requestId?: unknown } };
  if (method !== 'notifications/cancelled') return undefined;
  const id = params?.requestId;
  return typeof id === 'string' || typeof id === 'number' ? id : undefined;
}
