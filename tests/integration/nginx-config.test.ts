import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderNginxSite, type NginxSiteOptions } from '../../deploy/nginx/render.ts';
import { checkNginxSite, createNginxSandbox, startNginx } from '../helpers/nginx.ts';

/** The nginx site renderer: both layouts pass `nginx -t`, and the shipped examples are its output. */

const ENVIRONMENTS = ['demo', 'production', 'analytics'];
const PER_ENVIRONMENT_UPSTREAMS = {
  demo: 'mcp-server-demo:8008',
  production: 'mcp-server-production:8008',
  analytics: 'mcp-server-analytics:8008'
};
const EXAMPLES: [string, NginxSiteOptions][] = [
  [
    'sqlbridge.conf',
    { layout: 'shared', serverName: 'data.example.com', environments: ENVIRONMENTS, upstreams: 'sqlbridge:8008' }
  ],
  [
    'sqlbridge-per-environment.conf',
    {
      layout: 'per-environment',
      serverName: 'data.example.com',
      environments: ENVIRONMENTS,
      upstreams: PER_ENVIRONMENT_UPSTREAMS
    }
  ]
];

/** The directives at the top level of a site file, i.e. what it puts directly into nginx's http {} block. */
function topLevelDirectives(site: string): string[] {
  let depth = 0;
  const directives: string[] = [];
  for (const line of site.split('\n').map(l => l.replace(/#.*/, '').trim())) {
    if (depth === 0 && /^[a-z_]+/.test(line)) directives.push(/^[a-z_]+/.exec(line)![0]);
    depth += (line.match(/\{/g)?.length ?? 0) - (line.match(/\}/g)?.length ?? 0);
  }
  return directives;
}

describe('nginx site rendering', () => {
  it.each(['shared', 'per-environment'] as const)(
    'renders the %s layout into a site nginx -t accepts',
    async layout => {
      const sandbox = await createNginxSandbox();
      const upstreams = layout === 'shared' ? '127.0.0.1:9' : { demo: '127.0.0.1:9', production: '127.0.0.1:10' };
      const site = renderNginxSite({
        layout,
        serverName: 'localhost',
        environments: ['demo', 'production'],
        upstreams,
        ...sandbox.siteOptions
      });
      const check = checkNginxSite(sandbox, site);
      expect(check.output).toContain('test is successful');
      expect(check.ok).toBe(true);
      // Includable inside http {} like Debian's conf.d files.
      expect(new Set(topLevelDirectives(site))).toEqual(
        new Set(['limit_req_zone', 'log_format', 'upstream', 'server'])
      );
    }
  );

  it("reports nginx's own message when nginx refuses a site", async () => {
    const sandbox = await createNginxSandbox();
    const site = renderNginxSite({ ...EXAMPLES[0]![1], ...sandbox.siteOptions, upstreams: '127.0.0.1:9' });
    const broken = site.replace('limit_req_status 429;', 'limit_req_status 429; no_such_directive on;');
    const check = checkNginxSite(sandbox, broken);
    expect(check.ok).toBe(false);
    expect(check.output).toContain('unknown directive "no_such_directive"');
    await expect(startNginx(sandbox, broken)).rejects.toThrow('unknown directive "no_such_directive"');
  });

  it.each(EXAMPLES)('ships %s as the renderer output for the production defaults', (file, options) => {
    const shipped = readFileSync(new URL(`../../deploy/nginx/${file}`, import.meta.url), 'utf8');
    expect(shipped).toBe(renderNginxSite(options));
    expect(shipped).toContain('listen 443 ssl http2;');
    expect(shipped).toContain('ssl_certificate /etc/letsencrypt/live/data.example.com/fullchain.pem;');
    expect(shipped).toContain('listen 80;');
    expect(shipped).not.toMatch(/chunked_transfer_encoding off|add_header Content-Type|ssl_stapling on/);
  });
});
