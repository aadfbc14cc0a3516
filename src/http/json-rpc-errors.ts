/**
 * JSON-RPC error bodies for answers the HTTP layer gives itself (refusals before the MCP SDK sees a
 * request, shutdown). Codes follow JSON-RPC 2.0 §5.1; -32000 is the implementation-defined server
 * error the MCP SDK also uses for transport-level refusals.
 */

export const JSON_RPC = {
  parseError: -32700,
  invalidRequest: -32600,
  internalError: -32603,
  serverError: -32000
} as const;

export type JsonRpcId = string | number | null;

export interface JsonRpcErrorBody {
  jsonrpc: '2.0';
  error: { code: number; message: string; data?: unknown };
  id: JsonRpcId;
}

export function jsonRpcError(code: number, message: string, id: JsonRpcId = null, data?: unknown): JsonRpcErrorBody {
  return { jsonrpc: '2.0', error: { code, message, ...(data === undefined ? {} : { data }) }, id };
}

/** The ids of the JSON-RPC requests (not notifications or responses) in a parsed body, in order. */
export function requestIds(body: unknown): Exclude<JsonRpcId, null>[] {
  const messages = Array.isArray(body) ? (body as unknown[]) : [body];
  const ids: Exclude<JsonRpcId, null>[] = [];
  for (const message of messages) {
    if (typeof message !== 'object' || message === null) continue;
    const { method, id } = message as { method?: unknown; id?: unknown };
    if (typeof method === 'string' && (typeof id === 'string' || typeof id === 'number')) ids.push(id);
  }
  return ids;
}
