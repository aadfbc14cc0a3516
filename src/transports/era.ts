import type { IncomingHttpHeaders } from 'node:http';
import { isPlainObject } from '../plain-object.ts';

/** The first protocol revision whose requests each carry their own envelope (the SDK's "modern" era). */
export const MODERN_REVISION = '2026-07-28';

/** The 2025-era revisions a client names in its MCP-Protocol-Version header once it has initialized. */
export const LEGACY_REVISIONS: ReadonlySet<string> = new Set(['2025-11-25', '2025-06-18', '2025-03-26']);

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
  if (!isPlainObject(body)) return false;
  return typeof body['method'] === 'string' && !('result' in body) && !('error' in body);
}

/** The members a JSON-RPC request may have; the SDK's schema refuses any other. */
const REQUEST_MEMBERS: ReadonlySet<string> = new Set(['jsonrpc', 'id', 'method', 'params']);

const isIdOrToken = (value: unknown): boolean => typeof value === 'string' || Number.isSafeInteger(value);

/**
 * Whether a request is certainly one for the 2025-era transports, told from its header and parsed
 * body without the SDK's classification, which would parse the body against the JSON-RPC schemas
 * before the 2025-era transport parses it again.
 *
 * Two shapes are answered here, the two a 2025-era client sends in a session:
 * - a GET or a DELETE: the SDK serves every request but a POST on the 2025-era side;
 * - a POST whose MCP-Protocol-Version header names a 2025 revision and whose body is one JSON-RPC
 *   request with nothing in its `_meta` but a progress token. Such a body carries no envelope claim,
 *   and its header names no modern revision: the SDK serves it on the 2025-era side (an `initialize`
 *   included).
 *
 * Anything else (a notification, a response, a batch, other `_meta` keys, an id or member the
 * JSON-RPC schema might refuse) is left to the SDK; `tests/unit/era.test.ts` holds the two to
 * agreement.
 */
export function surelyLegacy(method: string, headers: IncomingHttpHeaders, body: unknown): boolean {
  if (method === 'GET' || method === 'DELETE') return true;
  const revision = headers['mcp-protocol-version'];
  if (method !== 'POST' || typeof revision !== 'string' || !LEGACY_REVISIONS.has(revision)) return false;
  if (!isPlainObject(body) || body['jsonrpc'] !== '2.0' || typeof body['method'] !== 'string') return false;
  if (!isIdOrToken(body['id'])) return false;
  for (const member in body) if (!REQUEST_MEMBERS.has(member)) return false;
  const params = body['params'];
  if (params === undefined) return true;
  if (!isPlainObject(params)) return false;
  const meta = params['_meta'];
  if (meta === undefined) return true;
  if (!isPlainObject(meta)) return false;
  for (const key in meta) if (key !== 'progressToken' || !isIdOrToken(meta[key])) return false;
  return true;
}
