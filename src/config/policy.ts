import { isIP } from 'node:net';
import { ConfigError } from '../errors/config-error.ts';
import type { Config } from './schema.ts';

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/** Whether an address or host name only ever reaches this machine. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (LOOPBACK_NAMES.has(bare.toLowerCase())) return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  return false;
}

/**
 * HTTP without authentication is only for this machine: a non-loopback bind would hand every
 * database in the configuration to anyone who can reach the port. With OAuth, a server reachable
 * from elsewhere needs its public https URL: issuers and token audiences are built from it.
 */
export function assertHttpExposureAllowed(config: Config): void {
  assertMetricsExposureAllowed(config);
  if (config.auth.enabled && config.server.trustProxy.length > 0 && config.server.publicUrl === undefined) {
    throw ConfigError.single(
      'server.publicUrl',
      'sqlbridge runs behind the proxies of server.trustProxy, so it needs the URL clients reach it at (e.g. https://data.example.com): OAuth issuers, token audiences and metadata URLs are built from it, never from forwarded headers'
    );
  }
  if (isLoopbackHost(config.server.host)) return;
  if (!config.auth.enabled) {
    throw ConfigError.single(
      'auth.enabled',
      `refusing to serve on ${config.server.host} without authentication; without OAuth, sqlbridge serves HTTP only on loopback (127.0.0.1, ::1 or localhost). Turn OAuth on, put sqlbridge behind an authenticating proxy on loopback, or use stdio.`
    );
  }
  const publicUrl = config.server.publicUrl;
  if (publicUrl === undefined) {
    throw ConfigError.single(
      'server.publicUrl',
      `serving on ${config.server.host} needs the https URL clients reach sqlbridge at (e.g. https://data.example.com): OAuth issuers and token audiences are built from it`
    );
  }
  if (!publicUrl.startsWith('https://') && !isLoopbackHost(new URL(publicUrl).hostname)) {
    throw ConfigError.single(
      'server.publicUrl',
      `expected an https URL, got ${publicUrl}: tokens must not cross the network in clear text`
    );
  }
}

/**
 * The metrics listener answers anyone who reaches it: off loopback it needs its bearer token, or
 * the server's load, its environments and its users' activity would be readable from the network.
 */
export function assertMetricsExposureAllowed(config: Config): void {
  const { enabled, host, token } = config.metrics;
  if (!enabled || token !== undefined || isLoopbackHost(host)) return;
  throw ConfigError.single(
    'metrics.token',
    `refusing to serve metrics on ${host} without a token; off loopback, the metrics listener needs metrics.token (a bearer token Prometheus sends, e.g. \${METRICS_TOKEN}), or bind metrics.host to 127.0.0.1`
  );
}
