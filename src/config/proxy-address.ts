import { isIP } from 'node:net';

/** The names @fastify/proxy-addr gives ranges (https://github.com/fastify/proxy-addr#proxyaddrreq-trust). */
const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * Whether `server.trustProxy` can take the entry as it is: an IP address, a range (`10.0.0.0/8`,
 * `fd00::/8`, `10.0.0.0/255.0.0.0`) or a named range. A host name (`nginx`) cannot be: the proxy is
 * recognised by the address its connection comes from.
 */
export function isProxyAddress(entry: string): boolean {
  if (NAMED_RANGES.has(entry)) return true;
  const slash = entry.indexOf('/');
  if (slash === -1) return isIP(entry) !== 0;
  const [address, range] = [entry.slice(0, slash), entry.slice(slash + 1)];
  const family = isIP(address);
  if (family === 0) return false;
  if (/^\d{1,3}$/.test(range)) return Number(range) <= (family === 4 ? 32 : 128);
  return family === 4 && isIP(range) === 4;
}
