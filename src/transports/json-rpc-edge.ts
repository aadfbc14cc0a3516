import { JSON_RPC, jsonRpcError, requestIds, type JsonRpcErrorBody } from '../http/json-rpc-errors.ts';

/**
 * What the MCP SDK cannot answer call by call, answered here so that no call of a request goes
 * unanswered (JSON-RPC 2.0 §6: each request object in a batch gets its response).
 */

/**
 * A batch whose requests repeat an id cannot be answered unambiguously (the SDK keeps one response
 * per id and drops the other call): the whole batch is refused, with an error for each call.
 */
export function duplicateIdRefusal(body: unknown): JsonRpcErrorBody[] | undefined {
  if (!Array.isArray(body)) return undefined;
  const ids = requestIds(body);
  const repeated = ids.filter((id, i) => ids.indexOf(id) !== i);
  if (repeated.length === 0) return undefined;
  const named = [...new Set(repeated)].map(id => JSON.stringify(id)).join(', ');
  return ids.map(id =>
    jsonRpcError(
      JSON_RPC.invalidRequest,
      `Invalid Request: the batch uses the id ${named} more than once; every request of a batch needs its own id`,
      id
    )
  );
}

/**
 * The SDK refuses some requests as a whole with one error whose id is null (a batch it will not
 * serve, a request it cannot route). When the request carried ids, each call gets that error under
 * its own id instead, so a client can tell which of its calls failed.
 */
export async function answerEveryCall(response: Response, body: unknown): Promise<Response> {
  const ids = requestIds(body);
  if (response.ok || ids.length === 0 || !(response.headers.get('content-type') ?? '').includes('application/json')) {
    return response;
  }
  const text = await response.text();
  let refusal: Partial<JsonRpcErrorBody> | undefined;
  try {
    refusal = JSON.parse(text) as Partial<JsonRpcErrorBody>;
  } catch {
    refusal = undefined;
  }
  const error = refusal?.error;
  const headers = new Headers(response.headers);
  headers.delete('content-length');
  const rebuilt = (text: string): Response =>
    new Response(text, { status: response.status, statusText: response.statusText, headers });
  if (error === undefined || refusal?.id !== null || Array.isArray(refusal)) return rebuilt(text);
  const answers = ids.map(id => jsonRpcError(error.code, error.message, id, error.data));
  return rebuilt(JSON.stringify(Array.isArray(body) ? answers : answers[0]));
}
