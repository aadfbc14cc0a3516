import { renderNginxSite, type NginxSiteOptions } from '../../deploy/nginx/render.ts';

/**
 * The nginx sites of deploy/compose/, as render.ts produces them. The server name is `${SQLBRIDGE_DOMAIN}`, filled in
 * by the nginx image's template step when the container starts; render.ts accepts only host names, so it renders a
 * placeholder host that is then replaced.
 */

export const DOMAIN_PLACEHOLDER_HOST = 'sqlbridge-domain.invalid';
export const DOMAIN_VARIABLE = '${SQLBRIDGE_DOMAIN}';
export const ENVIRONMENTS = ['demo', 'production', 'analytics'] as const;

export const COMPOSE_SITES = {
  'nginx/sqlbridge.conf.template': { layout: 'shared', upstreams: 'sqlbridge:8008' },
  'nginx/sqlbridge-per-environment.conf.template': {
    layout: 'per-environment',
    upstreams: Object.fromEntries(ENVIRONMENTS.map(name => [name, `mcp-server-${name}:8008`]))
  }
} as const satisfies Record<string, Pick<NginxSiteOptions, 'layout' | 'upstreams'>>;

export type ComposeSiteFile = keyof typeof COMPOSE_SITES;

/** The site for `file`, with extra options (loopback ports and certificates for `nginx -t`) when given. */
export function renderComposeSite(
  file: ComposeSiteFile,
  overrides: Partial<NginxSiteOptions> = {},
  serverName = DOMAIN_PLACEHOLDER_HOST
): string {
  const site = renderNginxSite({
    ...COMPOSE_SITES[file],
    serverName,
    environments: ENVIRONMENTS,
    ...overrides
  });
  return site.replaceAll(DOMAIN_PLACEHOLDER_HOST, DOMAIN_VARIABLE);
}
