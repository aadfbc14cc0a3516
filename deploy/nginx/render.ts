/**
 * Renders the nginx site file for sqlbridge from templates/sqlbridge.conf.in; the files in snippets/ are included
 * by it unchanged. The same function renders the shipped examples and the files the tests run nginx with.
 *
 * Template syntax (template.ts): `{{name}}` is a value; `{{#name}}` … `{{/name}}`, each alone on its line, is a
 * section kept when `name` is true, dropped when false, repeated for each item of a list (`{{#environments}}`,
 * whose items give `{{environment}}`, `{{upstream}}` and `{{upstreamName}}`). The values are siteTemplateValues()'s.
 *
 *   node deploy/nginx/render.ts --layout shared --server-name data.example.com \
 *     --environments demo,production,analytics --upstream sqlbridge:8008 [--out FILE]
 *   node deploy/nginx/render.ts --layout shared … --upstream sqlbridge-a:8008 --upstream sqlbridge-b:8008
 *   node deploy/nginx/render.ts --layout per-environment … --upstream demo=mcp-server-demo:8008 …
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { siteTemplateValues, type NginxLayout, type NginxSiteOptions } from './site-options.ts';
import { fillTemplate } from './template.ts';

export { DEFAULT_RATE_LIMITS, type NginxLayout, type NginxSiteOptions, type RateLimit } from './site-options.ts';

const TEMPLATE = new URL('./templates/sqlbridge.conf.in', import.meta.url);

/** The site file for these options; throws an Error naming the option when one is invalid. */
export function renderNginxSite(options: NginxSiteOptions): string {
  return fillTemplate(readFileSync(TEMPLATE, 'utf8'), siteTemplateValues(options));
}

const USAGE =
  'usage: node deploy/nginx/render.ts --layout shared|per-environment --server-name HOST --environments a,b ' +
  '--upstream HOST:PORT… | --upstream ENV=HOST:PORT… [--listen-address IP] [--https-port N] [--http-port N|off] ' +
  '[--certificate PATH] [--certificate-key PATH] [--acme-webroot PATH] [--client-max-body-size SIZE] ' +
  '[--access-log PATH|off] [--mcp-rate R] [--mcp-burst N] [--oauth-rate R] [--oauth-burst N] [--out FILE]';

const text = { type: 'string' } as const;
const CLI_OPTIONS = {
  layout: text,
  'server-name': text,
  environments: text,
  upstream: { type: 'string', multiple: true },
  'listen-address': text,
  'https-port': text,
  'http-port': text,
  certificate: text,
  'certificate-key': text,
  'acme-webroot': text,
  'client-max-body-size': text,
  'access-log': text,
  'mcp-rate': text,
  'mcp-burst': text,
  'oauth-rate': text,
  'oauth-burst': text,
  out: text,
  help: { type: 'boolean' }
} as const;

function integer(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,6}$/.test(value)) throw new Error(`nginx site: --${flag}: expected a whole number, got "${value}"`);
  return Number(value);
}

function required(flag: string, value: string | undefined): string {
  if (value === undefined || value === '') throw new Error(`nginx site: --${flag} is required (--help for usage)`);
  return value;
}

function upstreams(values: readonly string[]): NginxSiteOptions['upstreams'] {
  if (values.length === 0) throw new Error('nginx site: --upstream is required (--help for usage)');
  const named = values.filter(value => value.includes('='));
  if (named.length === 0) return values.length === 1 ? values[0]! : values;
  if (named.length !== values.length) {
    throw new Error(
      'nginx site: --upstream: give HOST:PORT (once per replica) or one ENV=HOST:PORT per environment, not both'
    );
  }
  return Object.fromEntries(
    named.map(value => [value.slice(0, value.indexOf('=')), value.slice(value.indexOf('=') + 1)])
  );
}

/** The site options given by command-line arguments, and the file to write (stdout when undefined). */
export function parseRenderArguments(args: readonly string[]): { options: NginxSiteOptions; out?: string } | 'help' {
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], options: CLI_OPTIONS, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new Error(`nginx site: ${(error as Error).message.split('\n')[0]!}`, { cause: error });
  }
  if (parsed.help === true) return 'help';
  const httpPort = parsed['http-port'] === 'off' ? null : integer('http-port', parsed['http-port']);
  const options: NginxSiteOptions = {
    layout: required('layout', parsed.layout) as NginxLayout,
    serverName: required('server-name', parsed['server-name']),
    environments: required('environments', parsed.environments).split(','),
    upstreams: upstreams(parsed.upstream ?? []),
    listen: { address: parsed['listen-address'], httpsPort: integer('https-port', parsed['https-port']), httpPort },
    certificate: parsed.certificate,
    certificateKey: parsed['certificate-key'],
    acmeWebroot: parsed['acme-webroot'],
    clientMaxBodySize: parsed['client-max-body-size'],
    accessLog: parsed['access-log'],
    rateLimits: {
      mcp: { rate: parsed['mcp-rate'], burst: integer('mcp-burst', parsed['mcp-burst']) },
      oauth: { rate: parsed['oauth-rate'], burst: integer('oauth-burst', parsed['oauth-burst']) }
    }
  };
  return parsed.out === undefined ? { options } : { options, out: parsed.out };
}

/** The CLI: the site file on stdout or in --out; one message on stderr and exit code 2 for bad arguments. */
function main(args: readonly string[]): number {
  try {
    const parsed = parseRenderArguments(args);
    if (parsed === 'help') {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    const site = renderNginxSite(parsed.options);
    if (parsed.out === undefined) process.stdout.write(site);
    else writeFileSync(parsed.out, site);
    return 0;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 2;
  }
}

if (import.meta.main) process.exitCode = main(process.argv.slice(2));
