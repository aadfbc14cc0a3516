import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import proxyAddr from '@fastify/proxy-addr';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { JSON_RPC, jsonRpcError } from './json-rpc-errors.ts';

/**
 * Which peers are reverse proxies whose forwarded headers count (`server.trustProxy`). The same
 * decision serves Fastify (client address from X-Forwarded-For, scheme from X-Forwarded-Proto, host
 * from X-Forwarded-Host) and the path prefix below, so a header is honoured from a proxy everywhere
 * or nowhere.
 */

export type ProxyTrust = (address: string, hop: number) => boolean;

export function proxyTrust(addresses: readonly string[]): ProxyTrust | undefined {
  return addresses.length === 0 ? undefined : proxyAddr.compile([...addresses]);
}

/** An environment's path prefix as the guide's nginx sends it: `/<environment>`. */
const PREFIX = /^\/[a-z][a-z0-9_-]{0,62}$/;

/**
 * The one-container-per-environment layout: nginx removes `/<environment>` from the path and says
 * so in `X-Environment-Path` (the original guide's header) or `X-Forwarded-Prefix`. Putting the
 * prefix back before routing makes that container answer exactly as a shared one does. From a peer
 * that is not a trusted proxy the headers change nothing, and a prefix that names no environment
 * served here is ignored: a proxy that passes its clients' headers on would otherwise let
 * `X-Forwarded-Prefix: /admin` reach `/admin/login` as `/login`, past a rule on `/admin`.
 */
export function forwardedPrefixRewrite(
  trust: ProxyTrust | undefined,
  environments: readonly string[]
): (req: IncomingMessage) => string {
  const prefixes = new Set(environments.map(name => `/${name}`));
  return req => {
    const url = req.url ?? '/';
    if (trust === undefined) return url;
    const header = req.headers['x-environment-path'] ?? req.headers['x-forwarded-prefix'];
    if (typeof header !== 'string' || !PREFIX.test(header) || !prefixes.has(header)) return url;
    const address = req.socket.remoteAddress;
    if (address === undefined || !trust(address, 0)) return url;
    return `${header}${url}`;
  };
}

/**
 * A client address a trusted proxy forwarded (X-Forwarded-For) that is not an IP address: the proxy
 * passed on what its client wrote, which then became the address logged, audited and rate-limited.
 * Refused with 400 naming the header; a proxy that appends the address it saw never sends one.
 */
export async function refuseForgedClientAddress(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  if (isIP(request.ip) !== 0) return;
  await reply
    .code(400)
    .send(
      jsonRpcError(
        JSON_RPC.invalidRequest,
        'Bad Request: X-Forwarded-For from a trusted proxy names a client address that is not an IP address'
      )
    );
}
