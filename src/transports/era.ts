import type { IncomingHttpHeaders } from 'node:http';

/** The first protocol revision whose requests each carry their own envelope (the SDK's "modern" era). */
export const MODERN_REVISION = '2026-07-28';

/**
 * Whether a POST is certainly one for the 2026-07-28 handler, told from its header and parsed body
 * without the SDK's classification. That classification parses the body against the JSON-RPC
 * schemas, and the modern handler runs it again itself, so the common case skips the first run.
 *
 * Only one shape is answered here: a POST whose MCP-Protocol-Version header names the modern
 * revision and whose body is one JSON-RPC request or notification (an object with a `method`,
 * without the `result` or `error` of a response). The SDK routes every such request to its modern
 * handler (see `isLegacyRequest`: a request whose header names a modern revision is served or
 * refused there, never by the 2025-era transports). Everything else (batches, responses, another
 * revision or no header, as a 2025 `initialize` sends) is left to the SDK; `tests/unit/era.test.ts`
 * holds the two to agreement.
 */
export function surelyModern(method: string, headers: IncomingHttpHeaders, body: unknown): boolean {
  if (method !== 'POST' || headers['mcp-protocol-version'] !== MODERN_REVISION) return false;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false;
  const message = body as Record<string, unknown>;
  return typeof message['method'] === 'string' && !('result' in message) && !('error' in message);
}
