import { isIP } from 'node:net';
import type { TemplateValues } from './template.ts';

/** The options of the nginx site file, their defaults, and their checks (each failure names the option). */

export type NginxLayout = 'shared' | 'per-environment';

export interface RateLimit {
  /** nginx rate syntax: requests per second or per minute, e.g. `10r/s`, `30r/m`. */
  rate?: string;
  /** Requests above the rate answered at once before nginx answers 429. */
  burst?: number;
}

export interface NginxSiteOptions {
  layout: NginxLayout;
  serverName: string;
  environments: readonly string[];
  /**
   * `host:port` of sqlbridge, or of each of its replicas (shared layout: nginx takes turns between them), or one per
   * environment (per-environment layout).
   */
  upstreams: string | readonly string[] | Readonly<Record<string, string>>;
  /** `httpPort: null` leaves out the port-80 server (ACME challenges and the redirect to https). */
  listen?: { address?: string; httpsPort?: number; httpPort?: number | null };
  certificate?: string;
  certificateKey?: string;
  acmeWebroot?: string;
  clientMaxBodySize?: string;
  rateLimits?: { mcp?: RateLimit; oauth?: RateLimit };
  accessLog?: string;
}

/**
 * Per client address, a flood guard rather than a quota: Claude.ai reaches the server from Anthropic's few
 * addresses, so every Claude.ai user of an organisation shares one bucket. An agent fires bursts of tool calls;
 * a sign-in is about 10 requests in a couple of seconds.
 */
export const DEFAULT_RATE_LIMITS = { mcp: { rate: '30r/s', burst: 120 }, oauth: { rate: '10r/s', burst: 60 } } as const;

const ENVIRONMENT_NAME = /^[a-z][a-z0-9_-]{0,62}$/;
const HOST_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const SAFE_PATH = /^\/[^\s;{}"'$#\\]*$/;

function fail(option: string, problem: string): never {
  throw new Error(`nginx site: ${option}: ${problem}`);
}

function port(option: string, value: number): string {
  if (!Number.isInteger(value) || value < 1 || value > 65535) fail(option, `expected a port 1-65535, got ${value}`);
  return String(value);
}

function upstreamAddress(option: string, value: string): string {
  const match = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]]+):(\d{1,5})$/.exec(value);
  const host = match?.[1] ?? '';
  const hostValid = host.startsWith('[') ? isIP(host.slice(1, -1)) === 6 : HOST_NAME.test(host);
  if (match === null || !hostValid) fail(option, `expected host:port (e.g. sqlbridge:8008), got "${value}"`);
  return `${host}:${port(option, Number(match[2]))}`;
}

function path(option: string, value: string): string {
  if (!SAFE_PATH.test(value))
    fail(option, `expected an absolute path without spaces, quotes, ; { } $ #, got "${value}"`);
  return value;
}

function rateLimit(option: string, limit: RateLimit | undefined, defaults: Required<RateLimit>): [string, string] {
  const rate = limit?.rate ?? defaults.rate;
  const burst = limit?.burst ?? defaults.burst;
  if (!/^[1-9]\d{0,5}r\/[sm]$/.test(rate)) fail(`${option}.rate`, `expected e.g. 10r/s or 30r/m, got "${rate}"`);
  if (!Number.isInteger(burst) || burst < 0 || burst > 100_000)
    fail(`${option}.burst`, `expected 0-100000, got ${burst}`);
  return [rate, String(burst)];
}

function listenOn(address: string | undefined, portNumber: string): string {
  if (address === undefined) return portNumber;
  const bare = address.replace(/^\[(.*)\]$/, '$1');
  const family = isIP(bare);
  if (family === 0) fail('listen.address', `expected an IP address, got "${address}"`);
  return family === 6 ? `[${bare}]:${portNumber}` : `${bare}:${portNumber}`;
}

function isList(upstreams: NginxSiteOptions['upstreams']): upstreams is readonly string[] {
  return Array.isArray(upstreams);
}

/** The shared layout's servers: one sqlbridge, or several replicas sharing their state in Redis. */
function sharedUpstreams(upstreams: NginxSiteOptions['upstreams']): string[] {
  if (typeof upstreams === 'string') return [upstreamAddress('upstreams', upstreams)];
  if (!isList(upstreams)) {
    fail('upstreams', 'the shared layout has one upstream (host:port) or a list of replicas (host:port each)');
  }
  if (upstreams.length === 0) fail('upstreams', 'expected at least one host:port');
  const seen = new Set<string>();
  return upstreams.map((value, index) => {
    const address = upstreamAddress(`upstreams[${index}]`, value);
    if (seen.has(address)) fail('upstreams', `"${address}" is listed twice`);
    seen.add(address);
    return address;
  });
}

/** Per environment: its name, and in the per-environment layout its own upstream's address and name. */
function environmentUpstreams(
  options: NginxSiteOptions
): { environment: string; upstream: string; upstreamName: string }[] {
  const { environments, upstreams, layout } = options;
  if (environments.length === 0) fail('environments', 'expected at least one environment');
  const seen = new Set<string>();
  for (const name of environments) {
    if (!ENVIRONMENT_NAME.test(name))
      fail('environments', `"${name}" is not a valid name (${ENVIRONMENT_NAME.source})`);
    if (seen.has(name)) fail('environments', `"${name}" is listed twice`);
    seen.add(name);
  }
  if (layout === 'shared') {
    return environments.map(environment => ({ environment, upstream: '', upstreamName: 'sqlbridge' }));
  }
  if (typeof upstreams === 'string' || isList(upstreams)) {
    fail('upstreams', 'the per-environment layout needs one upstream per environment');
  }
  for (const name of Object.keys(upstreams)) {
    if (!seen.has(name)) fail('upstreams', `"${name}" is not one of the environments (${environments.join(', ')})`);
  }
  return environments.map(environment => {
    const address = Object.hasOwn(upstreams, environment) ? upstreams[environment] : undefined;
    if (address === undefined) fail('upstreams', `no upstream for environment "${environment}"`);
    return {
      environment,
      upstream: upstreamAddress(`upstreams.${environment}`, address),
      upstreamName: `sqlbridge_${environment}`
    };
  });
}

/** Checks the options and turns them into the values of templates/sqlbridge.conf.in. */
export function siteTemplateValues(options: NginxSiteOptions): TemplateValues {
  const layout: string = options.layout;
  if (layout !== 'shared' && layout !== 'per-environment') {
    fail('layout', `expected "shared" or "per-environment", got "${layout}"`);
  }
  if (!HOST_NAME.test(options.serverName)) fail('serverName', `expected a host name, got "${options.serverName}"`);
  const environments = environmentUpstreams(options);
  const sharedServers = options.layout === 'shared' ? sharedUpstreams(options.upstreams) : [];
  const httpsPort = port('listen.httpsPort', options.listen?.httpsPort ?? 443);
  const httpPort = options.listen?.httpPort === null ? null : port('listen.httpPort', options.listen?.httpPort ?? 80);
  if (httpPort === httpsPort) fail('listen.httpPort', 'must differ from listen.httpsPort');
  const clientMaxBodySize = options.clientMaxBodySize ?? '1m';
  if (!/^\d{1,9}[kKmMgG]?$/.test(clientMaxBodySize))
    fail('clientMaxBodySize', `expected e.g. 1m or 512k, got "${clientMaxBodySize}"`);
  const accessLog = options.accessLog ?? '/var/log/nginx/sqlbridge.access.log';
  const [mcpRate, mcpBurst] = rateLimit('rateLimits.mcp', options.rateLimits?.mcp, DEFAULT_RATE_LIMITS.mcp);
  const [oauthRate, oauthBurst] = rateLimit('rateLimits.oauth', options.rateLimits?.oauth, DEFAULT_RATE_LIMITS.oauth);
  const live = `/etc/letsencrypt/live/${options.serverName}`;
  return {
    layout: options.layout,
    shared: options.layout === 'shared',
    perEnvironment: options.layout === 'per-environment',
    sharedServers: sharedServers.map(server => ({ server })),
    replicas: sharedServers.length > 1,
    environments,
    serverName: options.serverName,
    httpsListen: listenOn(options.listen?.address, httpsPort),
    httpRedirect: httpPort !== null,
    httpListen: httpPort === null ? '' : listenOn(options.listen?.address, httpPort),
    httpsOrigin: httpsPort === '443' ? `https://${options.serverName}` : `https://${options.serverName}:${httpsPort}`,
    certificate: path('certificate', options.certificate ?? `${live}/fullchain.pem`),
    certificateKey: path('certificateKey', options.certificateKey ?? `${live}/privkey.pem`),
    acmeWebroot: path('acmeWebroot', options.acmeWebroot ?? '/var/www/certbot'),
    accessLog: accessLog === 'off' ? 'off' : `${path('accessLog', accessLog)} sqlbridge`,
    clientMaxBodySize,
    mcpRate,
    mcpBurst,
    oauthRate,
    oauthBurst
  };
}
