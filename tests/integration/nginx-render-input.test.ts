import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { renderNginxSite, type NginxSiteOptions } from '../../deploy/nginx/render.ts';
import { fillTemplate } from '../../deploy/nginx/template.ts';

/** What the nginx site renderer refuses, and its command line: the same file, or one message and exit code 2. */

const RENDER = fileURLToPath(new URL('../../deploy/nginx/render.ts', import.meta.url));
const SHARED: NginxSiteOptions = {
  layout: 'shared',
  serverName: 'data.example.com',
  environments: ['demo', 'production', 'analytics'],
  upstreams: 'sqlbridge:8008'
};
const PER_ENVIRONMENT_UPSTREAMS = {
  demo: 'mcp-server-demo:8008',
  production: 'mcp-server-production:8008',
  analytics: 'mcp-server-analytics:8008'
};

function runRender(args: string[]) {
  return spawnSync(process.execPath, [RENDER, ...args], { encoding: 'utf8', timeout: 15_000 });
}

describe('nginx site renderer input', () => {
  it.each<[string, Partial<NginxSiteOptions>, RegExp]>([
    ['a bad environment name', { environments: ['Demo'] }, /environments: "Demo" is not a valid name/],
    ['an environment listed twice', { environments: ['demo', 'demo'] }, /"demo" is listed twice/],
    ['no environment', { environments: [] }, /environments: expected at least one/],
    ['an upstream without a port', { upstreams: 'sqlbridge' }, /upstreams: expected host:port/],
    [
      'one upstream per environment in the shared layout',
      { upstreams: { demo: 'a:1' } },
      /shared layout has one upstream/
    ],
    [
      'a missing upstream',
      { layout: 'per-environment', upstreams: { demo: 'a:1', production: 'b:1' } },
      /no upstream for environment "analytics"/
    ],
    [
      'an upstream for no environment',
      { layout: 'per-environment', upstreams: { ...PER_ENVIRONMENT_UPSTREAMS, staging: 'c:1' } },
      /"staging" is not one of the environments/
    ],
    ['a server name with a space', { serverName: 'data example.com' }, /serverName: expected a host name/],
    ['a port out of range', { listen: { httpsPort: 70000 } }, /listen.httpsPort: expected a port 1-65535/],
    ['the same port twice', { listen: { httpsPort: 8443, httpPort: 8443 } }, /httpPort: must differ/],
    ['a relative certificate path', { certificate: 'cert.pem' }, /certificate: expected an absolute path/],
    ['a path that would end the directive', { accessLog: '/var/log/x; evil' }, /accessLog: expected an absolute path/],
    ['a bad body size', { clientMaxBodySize: '1 MB' }, /clientMaxBodySize: expected e.g. 1m/],
    ['a bad rate', { rateLimits: { mcp: { rate: '10/s' } } }, /rateLimits.mcp.rate: expected e.g. 10r\/s/],
    ['a negative burst', { rateLimits: { oauth: { burst: -1 } } }, /rateLimits.oauth.burst: expected 0-100000/]
  ])('refuses %s with a message naming the option', (_case, change, message) => {
    expect(() => renderNginxSite({ ...SHARED, ...change })).toThrow(message);
  });

  it('brackets an IPv6 listen address and leaves out the port-80 server when httpPort is null', () => {
    const site = renderNginxSite({ ...SHARED, listen: { address: '::1', httpsPort: 8443, httpPort: null } });
    expect(site).toContain('listen [::1]:8443 ssl http2;');
    expect(site).not.toMatch(/acme-challenge|return 301/);
  });

  it('refuses a template with an unknown name or an unclosed section rather than render it wrong', () => {
    expect(fillTemplate('a {{b}} c', { b: 'B' })).toBe('a B c');
    expect(() => fillTemplate('listen {{port}};', {})).toThrow('no text value for {{port}}');
    expect(() => fillTemplate('{{#shared}}\nx\n', { shared: true })).toThrow('{{#shared}} is never closed');
    expect(() => fillTemplate('x\n{{/shared}}\n', {})).toThrow('misplaced tag {{/shared}}');
  });

  it('renders the same file from the command line', () => {
    const args = ['--server-name', 'data.example.com', '--environments', SHARED.environments.join(',')];
    const shared = runRender(['--layout', 'shared', ...args, '--upstream', 'sqlbridge:8008']);
    expect(shared).toMatchObject({ status: 0, stderr: '', stdout: renderNginxSite(SHARED) });
    const upstreams = Object.entries(PER_ENVIRONMENT_UPSTREAMS).flatMap(([name, address]) => [
      '--upstream',
      `${name}=${address}`
    ]);
    const perEnvironment = runRender(['--layout', 'per-environment', ...args, ...upstreams]);
    expect(perEnvironment).toMatchObject({
      status: 0,
      stderr: '',
      stdout: renderNginxSite({ ...SHARED, layout: 'per-environment', upstreams: PER_ENVIRONMENT_UPSTREAMS })
    });
  });

  it.each([
    [['--layout', 'shared', '--bogus'], /Unknown option '--bogus'/],
    [['--server-name', 'x.example', '--environments', 'demo', '--upstream', 'a:1'], /--layout is required/],
    [
      ['--layout', 'sideways', '--server-name', 'x.example', '--environments', 'demo', '--upstream', 'a:1'],
      /layout: expected "shared" or "per-environment"/
    ],
    [
      [
        '--layout',
        'shared',
        '--server-name',
        'x.example',
        '--environments',
        'demo',
        '--upstream',
        'a:1',
        '--https-port',
        'x'
      ],
      /--https-port: expected a whole number/
    ]
  ])('exits 2 with one message on stderr for %j', (args, message) => {
    const result = runRender(args);
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});
