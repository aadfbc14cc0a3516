/**
 * What a request path is, for the policies that depend on it (Origin check, CORS). Environment
 * names are single path segments (see the configuration schema), so a path's first segment names
 * the environment.
 */

export type PathKind = 'mcp' | 'public-oauth' | 'other';

/** The MCP endpoints of an environment: Streamable HTTP and the legacy HTTP+SSE pair. */
const MCP_ENDPOINT = /^\/[^/]+\/(?:mcp|sse|messages)$/;

/**
 * Documents and OAuth endpoints browser-based MCP clients (the MCP Inspector) call from their own
 * origin, without cookies: metadata, token, registration, revocation and keys.
 */
const PUBLIC_OAUTH = /^\/(?:\.well-known\/.*|[^/]+\/(?:\.well-known\/.*|token|register|revoke|jwks))$/;

export function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/**
 * The sign-in pages' paths carry the interaction id (`/<env>/interaction/<id>/login`,
 * `/<env>/authorize/<id>`), which is also the value of the interaction and resume cookies: a bearer
 * secret while the sign-in lasts.
 */
const INTERACTION_ID = /^(\/[^/]+\/(?:interaction|authorize))\/[^/]+/;

/** A path as logs show it: without its query string, and without an interaction id. */
export function loggablePath(url: string): string {
  return pathOf(url).replace(INTERACTION_ID, '$1/[interaction]');
}

export function pathKind(url: string): PathKind {
  const path = pathOf(url);
  if (MCP_ENDPOINT.test(path)) return 'mcp';
  if (PUBLIC_OAUTH.test(path)) return 'public-oauth';
  return 'other';
}
