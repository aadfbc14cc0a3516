import type { FastifyCorsOptions } from '@fastify/cors';
import type { FastifyRequest } from 'fastify';
import { pathKind } from './paths.ts';

/**
 * Which browser origins may read which answers (CORS, through @fastify/cors):
 * - OAuth metadata and the cookie-less OAuth endpoints answer any origin, without credentials, so
 *   browser-based MCP clients (the MCP Inspector) can discover, register and exchange codes;
 * - the MCP endpoints answer the origins the host guard let through (it refuses the others first),
 *   exposing the headers a client must read: the session id, the protocol version and the
 *   WWW-Authenticate challenge;
 * - nothing else (the authorization endpoint and sign-in pages are navigations, not fetches).
 */

const PUBLIC: FastifyCorsOptions = {
  origin: '*',
  methods: ['GET', 'POST'],
  allowedHeaders: ['authorization', 'content-type', 'mcp-protocol-version'],
  maxAge: 600
};

const MCP: FastifyCorsOptions = {
  origin: true,
  methods: ['GET', 'POST', 'DELETE'],
  allowedHeaders: [
    'authorization',
    'content-type',
    'accept',
    'last-event-id',
    'mcp-session-id',
    'mcp-protocol-version',
    'mcp-method',
    'mcp-name'
  ],
  // One string rather than a list: @fastify/cors joins a list anew for every response, and an
  // event stream keeps its response's headers for as long as it stays open.
  exposedHeaders: 'mcp-session-id, mcp-protocol-version, www-authenticate',
  maxAge: 600
};

const NONE: FastifyCorsOptions = { origin: false };

export function corsPolicy(
  request: FastifyRequest,
  callback: (error: Error | null, options: FastifyCorsOptions) => void
) {
  const kind = pathKind(request.url);
  callback(null, kind === 'mcp' ? MCP : kind === 'public-oauth' ? PUBLIC : NONE);
}
