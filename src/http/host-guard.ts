import type { FastifyReply, FastifyRequest } from 'fastify';
import { JSON_RPC, jsonRpcError } from './json-rpc-errors.ts';
import { pathKind } from './paths.ts';

/**
 * DNS-rebinding and cross-origin protection for every route (MCP transport spec, "Security
 * Warning"): the Host the client used must name this server, and a browser Origin, when present,
 * must be one we allow, except on the paths that are public by design (OAuth metadata, token and
 * registration endpoints, which carry no cookies and answer with CORS). Hostnames compare
 * case-insensitively and without ports. Behind a trusted proxy the Host the client used is
 * X-Forwarded-Host (Fastify's `request.host` honours it only from `server.trustProxy`).
 */

export interface HostGuardOptions {
  allowedHosts: readonly string[];
  allowedOrigins: readonly string[];
}

export function hostnameOf(hostHeader: string): string {
  const value = hostHeader.trim().toLowerCase();
  if (value.startsWith('[')) {
    const end = value.indexOf(']');
    return end === -1 ? value : value.slice(0, end + 1);
  }
  const colon = value.indexOf(':');
  return colon === -1 ? value : value.slice(0, colon);
}

export function createHostGuard(options: HostGuardOptions) {
  const hosts = new Set(options.allowedHosts.map(h => hostnameOf(h)));
  const origins = new Set(options.allowedOrigins.map(o => o.toLowerCase()));
  return async function hostGuard(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (request.host === '' || !hosts.has(hostnameOf(request.host))) {
      await forbid(reply, 'the Host header does not name this server');
      return;
    }
    const origin = request.headers.origin;
    if (origin === undefined || pathKind(request.url) === 'public-oauth') return;
    if (!originAllowed(origin, ownOrigin(request), origins)) {
      await forbid(reply, 'requests from this Origin are not allowed');
    }
  };
}

/** Names of this machine, on which a local tool's page (the MCP Inspector's, say) may run on any port. */
const LOOPBACK_NAMES: ReadonlySet<string> = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Whether a browser Origin may call the MCP endpoints and the sign-in pages: one listed (an origin,
 * or a host name for any of its origins), this server's own (scheme, host and port, as the request
 * reached it), or a page on a loopback name. A page on another port or scheme of an allowed host is
 * another site: it may not drive this one through its visitors' browsers.
 */
export function originAllowed(origin: string, own: string | undefined, origins: ReadonlySet<string>): boolean {
  const lower = origin.toLowerCase();
  if (origins.has(lower)) return true;
  try {
    const url = new URL(lower);
    return (
      origins.has(url.origin) ||
      origins.has(url.hostname) ||
      url.origin === own ||
      LOOPBACK_NAMES.has(hostnameOf(url.host))
    );
  } catch {
    return false;
  }
}

/** The origin the request was sent to (X-Forwarded-Proto and -Host only from a trusted proxy). */
function ownOrigin(request: FastifyRequest): string | undefined {
  try {
    return new URL(`${request.protocol}://${request.host}`).origin;
  } catch {
    return undefined;
  }
}

async function forbid(reply: FastifyReply, message: string): Promise<void> {
  await reply.code(403).send(jsonRpcError(JSON_RPC.serverError, `Forbidden: ${message}`));
}
