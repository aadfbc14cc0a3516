import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { assertHttpExposureAllowed } from '../../src/config/policy.ts';
import type { Config } from '../../src/config/schema.ts';
import {
  COMPOSE_DIR,
  COMPOSE_FILES,
  readComposeFile,
  readEnvFile,
  referencedVariables,
  substitute,
  type ComposeService
} from '../helpers/compose-files.ts';
import { COMPOSE_SITES, DOMAIN_VARIABLE, renderComposeSite, type ComposeSiteFile } from '../helpers/compose-site.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import { checkNginxSite, createNginxSandbox } from '../helpers/nginx.ts';

/**
 * deploy/compose/ checked without a container engine: its files parse, name only files that exist and variables
 * .env.example documents, mount the nginx site render.ts produces, and hand sqlbridge a configuration it loads.
 */

const DEPLOY = resolve(COMPOSE_DIR, '..');
const ENV_EXAMPLE = readEnvFile(join(COMPOSE_DIR, '.env.example'));
const README = readFileSync(join(COMPOSE_DIR, 'README.md'), 'utf8');

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map(name => join(dir, name))
    .filter(path => statSync(path).isFile());
}

/** The host side of a compose bind mount (`./x:/y:ro`), resolved against the compose directory; undefined for a volume. */
function bindSource(volume: string): string | undefined {
  const source = volume.split(':')[0]!;
  return source.startsWith('.') || source.startsWith('/') ? resolve(COMPOSE_DIR, source) : undefined;
}

function sqlbridgeServices(file: string): [string, ComposeService][] {
  return Object.entries(readComposeFile(file).services).filter(([, service]) => service.build !== undefined);
}

/**
 * A service's environment as the container gets it, with each /run/secrets/<name> a file holding
 * `secret-<name>`, or a URL whose password it is for a secret that holds a URL (`…_url`), as the README
 * tells the operator to write it.
 */
function containerEnvironment(service: ComposeService): Record<string, string> {
  const secrets = emptyDir('secrets-');
  const env: Record<string, string> = {};
  for (const [name, given] of Object.entries(service.environment ?? {})) {
    const value = String(given);
    const secret = /^\/run\/secrets\/([a-z_]+)$/.exec(value)?.[1];
    if (secret !== undefined) {
      expect(service.secrets, `${name} names a secret the service is given`).toContain(secret);
      const content = secret.endsWith('_url')
        ? `postgres://claude_reader:secret-${secret}@pg.internal.example.com:5432/analytics`
        : `secret-${secret}`;
      writeFileSync(join(secrets, secret), `${content}\n`);
      env[name] = join(secrets, secret);
    } else {
      env[name] = substitute(value, ENV_EXAMPLE);
    }
  }
  return env;
}

/** The configuration a sqlbridge service starts with: its command, its variables, the file it mounts. */
function serviceConfig(name: string, service: ComposeService): Config {
  const env = containerEnvironment(service);
  const command = service.command ?? ['serve'];
  const configIndex = command.indexOf('--config');
  const mounted = configIndex < 0 ? env['SQLBRIDGE_CONFIG'] : command[configIndex + 1];
  const configMount = service.volumes?.find(volume => mounted !== undefined && volume.includes(`:${mounted}:`));
  if (mounted !== undefined) expect(configMount, `${name}: ${mounted} is mounted`).toBeDefined();
  return loadConfig({
    cli: { config: configMount === undefined ? undefined : bindSource(configMount) },
    // The image's own variables (Dockerfile ENV) under the service's; the file is read where it is mounted from.
    env: { SQLBRIDGE_HOST: '0.0.0.0', SQLBRIDGE_DATA_DIR: '/data', ...env, SQLBRIDGE_CONFIG: undefined },
    cwd: '/app',
    demo: command[0] === 'demo'
  }).config;
}

describe('deploy/ files', () => {
  it('every YAML and JSON file under deploy/ parses', () => {
    // A Helm chart's templates are Go templates that render into YAML, not YAML themselves.
    const files = filesUnder(DEPLOY).filter(path => /\.(ya?ml|json)$/.test(path) && !/\/templates\//.test(path));
    expect(files.map(path => relative(DEPLOY, path))).toEqual(
      expect.arrayContaining(['compose/docker-compose.yml', 'compose/sqlbridge.yaml', 'grafana/sqlbridge.json'])
    );
    for (const path of files) {
      const text = readFileSync(path, 'utf8');
      if (path.endsWith('.json')) expect(() => JSON.parse(text) as unknown, path).not.toThrow();
      else expect(parseDocument(text, { uniqueKeys: true }).errors, path).toEqual([]);
    }
  });
});

describe.each(COMPOSE_FILES)('%s', file => {
  const text = readFileSync(join(COMPOSE_DIR, file), 'utf8');
  const compose = readComposeFile(file);

  it('names only files that exist (secrets: files the README tells how to create)', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (service.build !== undefined) {
        expect(existsSync(resolve(COMPOSE_DIR, service.build.context, service.build.dockerfile)), name).toBe(true);
      }
      for (const volume of service.volumes ?? []) {
        const source = bindSource(volume);
        if (source !== undefined) expect(existsSync(source), `${name}: ${volume}`).toBe(true);
      }
      for (const secret of service.secrets ?? []) expect(compose.secrets?.[secret], `${name}: ${secret}`).toBeDefined();
    }
    for (const { file: secretFile } of Object.values(compose.secrets ?? {})) {
      expect(secretFile).toMatch(/^\.\/secrets\/[a-z_]+\.txt$/);
      expect(README).toContain(secretFile.slice(2));
    }
  });

  it('uses only variables .env.example documents', () => {
    const used = referencedVariables(text);
    expect(used.size).toBeGreaterThan(3);
    for (const name of used) expect(Object.keys(ENV_EXAMPLE), name).toContain(name);
  });

  it('mounts the nginx site render.ts produces, its snippets, certificates and ACME webroot', () => {
    const { volumes = [] } = compose.services['nginx']!;
    const template = volumes.find(volume => volume.includes(':/etc/nginx/templates/default.conf.template'));
    expect(template).toBeDefined();
    const site = relative(COMPOSE_DIR, bindSource(template!)!) as ComposeSiteFile;
    expect(Object.keys(COMPOSE_SITES)).toContain(site);
    expect(readFileSync(join(COMPOSE_DIR, site), 'utf8')).toBe(renderComposeSite(site));
    expect(volumes).toEqual(
      expect.arrayContaining([
        '../nginx/snippets:/etc/nginx/snippets:ro',
        './certbot/conf:/etc/letsencrypt:ro',
        './certbot/www:/var/www/certbot:ro'
      ])
    );
    expect(compose.services['certbot']!.volumes).toEqual([
      './certbot/conf:/etc/letsencrypt',
      './certbot/www:/var/www/certbot'
    ]);
    expect(compose.services['nginx']!.environment).toMatchObject({ SQLBRIDGE_DOMAIN: '${SQLBRIDGE_DOMAIN}' });
    // README: certbot tries to renew twice a day, nginx reloads every 6 hours.
    expect(compose.services['certbot']!.entrypoint?.join(' ')).toContain('certbot renew --webroot -w /var/www/certbot');
    expect(compose.services['certbot']!.entrypoint?.join(' ')).toContain('sleep 12h');
    expect(compose.services['nginx']!.command?.join(' ')).toMatch(/sleep 6h .*nginx -s reload/);
    // The image's /docker-entrypoint.sh fills in /etc/nginx/templates only when its first argument is nginx (or
    // nginx-debug); a command of its own starting with /bin/sh skips that, and nginx would serve its welcome page.
    expect(compose.services['nginx']!.command?.join(' ')).toMatch(
      /exec \/docker-entrypoint\.sh nginx -g 'daemon off;'$/
    );
  });

  it("starts every sqlbridge with a configuration sqlbridge's own loader accepts (.env.example values)", () => {
    const services = sqlbridgeServices(file);
    expect(services.length).toBeGreaterThan(0);
    for (const [name, service] of services) {
      const command = service.command ?? ['serve'];
      const config = serviceConfig(name, service);
      expect(() => assertHttpExposureAllowed(config), name).not.toThrow();
      // Docker kills a container this long after SIGTERM: running calls must get their whole deadline first.
      expect(service.stop_grace_period, name).toBe('30s');
      expect(30_000).toBeGreaterThan(config.server.shutdownTimeoutMs);
      expect(config.server.publicUrl).toBe(`https://${ENV_EXAMPLE['SQLBRIDGE_DOMAIN']!}`);
      expect(config.auth.storage).toMatch(/^redis:\/\/redis:6379\/0/);
      expect(config.auth.storagePassword).toBe('secret-redis_password');
      expect(config.dataDir).toBe('/data');
      if (command[0] !== 'demo') {
        expect(
          config.auth.users.map(user => user.username),
          name
        ).toEqual([ENV_EXAMPLE['SQLBRIDGE_ADMIN_USER']]);
      }
      // nginx's fixed address on the compose network is the one proxy trusted.
      const nginxAddress = (
        readComposeFile(file).services['nginx'] as { networks: { backend: { ipv4_address: string } } }
      ).networks.backend.ipv4_address;
      expect(config.server.trustProxy).toEqual([nginxAddress]);
      const production = config.environments['production'];
      if (production !== undefined) {
        expect(production.database).toMatchObject({
          engine: 'mssql',
          host: ENV_EXAMPLE['PRODUCTION_MSSQL_HOST'],
          password: 'secret-production_db_password'
        });
        expect(production.readOnly).toBe(true);
      }
    }
  });
});

describe('docker-compose.yml', () => {
  it('serves /demo, /production and /analytics from one sqlbridge, with the guide’s engines', () => {
    const [[name, service]] = sqlbridgeServices('docker-compose.yml') as [[string, ComposeService]];
    const config = serviceConfig(name, service);
    expect(Object.keys(config.environments).sort()).toEqual(['analytics', 'demo', 'production']);
    expect(config.environments['analytics']!.database).toMatchObject({ engine: 'postgres', tls: 'require' });
    expect(config.auth.users).toEqual([
      expect.objectContaining({ username: ENV_EXAMPLE['SQLBRIDGE_ADMIN_USER'], environments: ['*'] })
    ]);
  });
});

describe('docker-compose.per-environment.yml', () => {
  it('runs mcp-server-demo, mcp-server-production and mcp-server-analytics, one environment each', () => {
    const services = Object.fromEntries(sqlbridgeServices('docker-compose.per-environment.yml'));
    expect(Object.keys(services).sort()).toEqual(['mcp-server-analytics', 'mcp-server-demo', 'mcp-server-production']);
    const names = Object.entries(services).map(([name, service]) => {
      const config = serviceConfig(name, service);
      expect(Object.keys(config.environments)).toHaveLength(1);
      return [name, Object.keys(config.environments)[0]];
    });
    expect(Object.fromEntries(names)).toEqual({
      'mcp-server-demo': 'demo',
      'mcp-server-production': 'production',
      'mcp-server-analytics': 'analytics'
    });
  });
});

describe.each(Object.keys(COMPOSE_SITES) as ComposeSiteFile[])('nginx site %s', site => {
  it('passes nginx -t once the nginx image fills in the domain (loopback ports, a test certificate)', async () => {
    const sandbox = await createNginxSandbox();
    const { layout } = COMPOSE_SITES[site];
    const upstreams =
      layout === 'shared'
        ? '127.0.0.1:9'
        : { demo: '127.0.0.1:9', production: '127.0.0.1:10', analytics: '127.0.0.1:11' };
    const template = renderComposeSite(site, { ...sandbox.siteOptions, upstreams });
    expect(template).toContain(`server_name ${DOMAIN_VARIABLE};`);
    const check = checkNginxSite(sandbox, template.replaceAll(DOMAIN_VARIABLE, 'localhost'));
    expect(check.output).toContain('test is successful');
    expect(check.ok).toBe(true);
  });
});
