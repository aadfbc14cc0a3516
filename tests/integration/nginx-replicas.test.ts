import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { renderNginxSite, type NginxSiteOptions } from '../../deploy/nginx/render.ts';
import { checkNginxSite, createNginxSandbox } from '../helpers/nginx.ts';

/** The shared layout in front of several sqlbridge replicas: one upstream block, one server line per replica. */

const RENDER = fileURLToPath(new URL('../../deploy/nginx/render.ts', import.meta.url));
const REPLICAS: NginxSiteOptions = {
  layout: 'shared',
  serverName: 'data.example.com',
  environments: ['demo', 'production'],
  upstreams: ['sqlbridge-a:8008', 'sqlbridge-b:8008']
};

/** The body of `upstream NAME { … }`, one trimmed line each. */
function upstreamBlock(site: string, name: string): string[] {
  const match = new RegExp(`^upstream ${name} \\{\\n([^}]*)\\}`, 'm').exec(site);
  if (match === null) throw new Error(`no upstream ${name} in the site`);
  return match[1]!
    .trim()
    .split('\n')
    .map(line => line.trim());
}

describe('nginx site for several replicas (shared layout)', () => {
  it('renders one round-robin upstream listing every replica, which nginx -t accepts', async () => {
    const sandbox = await createNginxSandbox();
    const site = renderNginxSite({ ...REPLICAS, upstreams: ['127.0.0.1:9', '127.0.0.1:10'], ...sandbox.siteOptions });
    expect(upstreamBlock(site, 'sqlbridge')).toEqual([
      'server 127.0.0.1:9;',
      'server 127.0.0.1:10;',
      'keepalive 16;',
      'keepalive_timeout 60s;'
    ]);
    expect(site.match(/^upstream /gm)).toHaveLength(1);
    // Round robin, and no retry of a request already sent (a tool call is never run twice).
    expect(site.replace(/#.*/g, '')).not.toMatch(/ip_hash|hash \$|least_conn|non_idempotent/);
    const check = checkNginxSite(sandbox, site);
    expect(check.output).toContain('test is successful');
    expect(check.ok).toBe(true);
  });

  it('renders a single replica given as a list exactly as the single upstream', () => {
    expect(renderNginxSite({ ...REPLICAS, upstreams: ['sqlbridge:8008'] })).toBe(
      renderNginxSite({ ...REPLICAS, upstreams: 'sqlbridge:8008' })
    );
  });

  it.each<[string, NginxSiteOptions['upstreams'], RegExp]>([
    ['an empty list', [], /upstreams: expected at least one host:port/],
    ['a replica without a port', ['a:8008', 'b'], /upstreams\[1\]: expected host:port/],
    ['a replica listed twice', ['a:8008', 'a:8008'], /upstreams: "a:8008" is listed twice/]
  ])('refuses %s with a message naming the option', (_case, upstreams, message) => {
    expect(() => renderNginxSite({ ...REPLICAS, upstreams })).toThrow(message);
  });

  it('refuses a list of replicas in the per-environment layout', () => {
    expect(() => renderNginxSite({ ...REPLICAS, layout: 'per-environment' })).toThrow(
      /upstreams: the per-environment layout needs one upstream per environment/
    );
  });

  it('takes one --upstream per replica on the command line', () => {
    const args = ['--layout', 'shared', '--server-name', 'data.example.com', '--environments', 'demo,production'];
    const result = spawnSync(
      process.execPath,
      [RENDER, ...args, '--upstream', 'sqlbridge-a:8008', '--upstream', 'sqlbridge-b:8008'],
      { encoding: 'utf8', timeout: 15_000 }
    );
    expect(result).toMatchObject({ status: 0, stderr: '', stdout: renderNginxSite(REPLICAS) });
    const mixed = spawnSync(process.execPath, [RENDER, ...args, '--upstream', 'a:1', '--upstream', 'demo=b:1'], {
      encoding: 'utf8',
      timeout: 15_000
    });
    expect(mixed.status).toBe(2);
    expect(mixed.stderr).toMatch(/--upstream: give HOST:PORT \(once per replica\) or one ENV=HOST:PORT/);
  });
});
