import { lookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { BlockList, isIP } from 'node:net';

/**
 * Fetching Client ID Metadata Documents without becoming a proxy into the private network. A
 * client_id URL must be https on port 443, name a host (not an address), and resolve only to public
 * addresses; oidc-provider then connects through its own dispatcher, which checks the address of the
 * very socket it opened (so DNS rebinding between the two checks does not help), sends no redirect
 * on (a redirect is a failure), caps the size and the time. Origins listed as trusted (development,
 * tests) skip the address checks and may use a CA of their own.
 */

const SPECIAL = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4]
] as const) {
  SPECIAL.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 23],
  ['2001:db8::', 32],
  ['2002::', 16],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8]
] as const) {
  SPECIAL.addSubnet(network, prefix, 'ipv6');
}

/** Whether an address is loopback, private, link-local (cloud metadata), reserved or otherwise not on the public internet. */
export function isSpecialAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare)?.[1];
  if (mapped !== undefined) return SPECIAL.check(mapped, 'ipv4');
  const family = isIP(bare);
  if (family === 4) return SPECIAL.check(bare, 'ipv4');
  if (family === 6) return SPECIAL.check(bare, 'ipv6');
  return true;
}

export interface MetadataFetchOptions {
  timeoutMs: number;
  /** Origins (`https://host:port`) fetched without the address checks. */
  trustedOrigins: readonly string[];
  /** PEM of an extra CA for trusted origins. */
  caFile?: string | undefined;
  /** Resolves a host name to its addresses (tests replace it). */
  resolve?: (host: string) => Promise<string[]>;
}

const defaultResolve = async (host: string): Promise<string[]> =>
  (await lookup(host, { all: true, order: 'verbatim' })).map(entry => entry.address);

/** Why a client_id URL may not be fetched, or undefined when it may. */
export async function metadataUrlRefusal(clientId: string, options: MetadataFetchOptions): Promise<string | undefined> {
  let url: URL;
  try {
    url = new URL(clientId);
  } catch {
    return 'not a URL';
  }
  if (options.trustedOrigins.includes(url.origin)) return undefined;
  if (url.protocol !== 'https:') return 'only https client_id URLs are fetched';
  if (url.port !== '' && url.port !== '443') return 'only port 443 is fetched';
  if (isIP(url.hostname.replace(/^\[|\]$/g, '')) !== 0) return 'an address is not accepted as a client_id host';
  let addresses: string[];
  try {
    addresses = await (options.resolve ?? defaultResolve)(url.hostname);
  } catch {
    return 'the host does not resolve';
  }
  if (addresses.length === 0) return 'the host does not resolve';
  const special = addresses.find(isSpecialAddress);
  if (special !== undefined) return `the host resolves to a private or reserved address (${special})`;
  return undefined;
}

/** The `fetch` given to oidc-provider: its own SSRF-checking dispatcher for everyone, a plain client with an optional CA for trusted origins. */
export function metadataFetch(
  options: MetadataFetchOptions
): (input: string | URL | Request, init?: RequestInit) => Promise<Response> {
  const ca = options.caFile === undefined ? undefined : readFileSync(options.caFile, 'utf8');
  return async (target, init = {}) => {
    const url = new URL(target instanceof Request ? target.url : target);
    const signal = AbortSignal.any([
      ...(init.signal === undefined || init.signal === null ? [] : [init.signal]),
      AbortSignal.timeout(options.timeoutMs)
    ]);
    if (!options.trustedOrigins.includes(url.origin)) {
      // oidc-provider passes the dispatcher that checks the address of the socket it opens (the
      // answer to DNS rebinding after metadataUrlRefusal); without it, nothing is fetched.
      if ((init as { dispatcher?: unknown }).dispatcher === undefined) {
        throw new Error('refusing to fetch a client metadata document without the address-checking dispatcher');
      }
      return globalThis.fetch(url, { ...init, signal, redirect: 'manual' });
    }
    return trustedFetch(url, Object.fromEntries(new Headers(init.headers).entries()), signal, ca);
  };
}

function trustedFetch(
  url: URL,
  headers: Record<string, string>,
  signal: AbortSignal,
  ca: string | undefined
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', headers, signal, ...(ca === undefined ? {} : { ca }) }, res => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const responseHeaders = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          if (typeof value === 'string') responseHeaders.set(name, value);
          else if (Array.isArray(value)) for (const v of value) responseHeaders.append(name, v);
        }
        resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 502, headers: responseHeaders }));
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
