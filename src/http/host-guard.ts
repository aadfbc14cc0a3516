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
    if (!originAllowed(origin, hosts, origins)) {
      await forbid(reply, 'requests from this Origin are not allowed');
    }
  };
}

/** Whether a browser Origin may call the MCP endpoints and the sign-in pages. */
export function originAllowed(origin: string, hosts: ReadonlySet<string>, origins: ReadonlySet<string>): boolean {
  const lower = origin.toLowerCase();
  if (origins.has(lower)) return true;
  try {
    const url = new URL(lower);
    return origins.has(url.origin) || origins.has(url.hostname) || hosts.has(hostnameOf(url.host));
  } catch {
    return false;
  }
}

async function forbid(reply: FastifyReply, message: string): Promise<void> {
  await reply.code(403).send(jsonRpcError(JSON_RPC.serverError, `Forbidden: ${message}`));
}
