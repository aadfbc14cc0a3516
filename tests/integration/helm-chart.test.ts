import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseCommandLine } from '../../src/cli/args.ts';
import { requireEnvironments } from '../../src/cli/commands/environments.ts';
import { loadConfig } from '../../src/config/load.ts';
import { assertHttpExposureAllowed } from '../../src/config/policy.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import { imageEntrypoint } from '../helpers/dockerfile.ts';
import { formatFloat, TemplateSet } from '../helpers/go-template.ts';
import { HELM_FUNCTIONS, isTemplateFailure } from '../helpers/helm-functions.ts';
import { renderChart, type KubernetesObject, type RenderedChart } from '../helpers/helm-render.ts';

/**
 * The Helm chart in deploy/helm/sqlbridge, rendered by tests/helpers/helm-render.ts (no helm binary here): every
 * object is a well-formed Kubernetes object, the objects refer to each other correctly, and the configuration the
 * pod would read loads with sqlbridge's own loader.
 */

const CHART = fileURLToPath(new URL('../../deploy/helm/sqlbridge', import.meta.url));
const RELEASE = { name: 'mcp', namespace: 'data' };

const SCALED_OUT = {
  replicaCount: 3,
  publicUrl: 'https://data.example.com',
  trustProxy: ['10.0.0.0/8'],
  image: { repository: 'registry.example.com/sqlbridge', tag: '1.2.3' },
  redis: { url: 'rediss://sqlbridge@redis.data.svc:6380/0?prefix=sqlbridge' },
  config: {
    environments: {
      warehouse: {
        description: 'Sales warehouse',
        database: {
          engine: 'postgres',
          host: 'pg.data.svc',
          database: 'sales',
          user: 'claude_reader',
          password: '${WAREHOUSE_DB_PASSWORD}'
        }
      }
    },
    audit: { log: true }
  },
  env: { SQLBRIDGE_LOG_LEVEL: 'debug', SQLBRIDGE_KEEP_ALIVE_MS: 20000 },
  secret: {
    files: { REDIS_PASSWORD: 'redis-secret-9f2c' },
    env: { WAREHOUSE_DB_PASSWORD: 'db-secret-71ab', METRICS_TOKEN: 'metrics-secret-04d1' }
  },
  metrics: { enabled: true, serviceMonitor: { enabled: true, labels: { release: 'prometheus' } } },
  ingress: {
    enabled: true,
    hosts: ['data.example.com'],
    tls: [{ secretName: 'data-example-com-tls', hosts: ['data.example.com'] }]
  }
};

const API_VERSIONS: Record<string, string> = {
  Deployment: 'apps/v1',
  Service: 'v1',
  ConfigMap: 'v1',
  Secret: 'v1',
  PersistentVolumeClaim: 'v1',
  Ingress: 'networking.k8s.io/v1',
  PodDisruptionBudget: 'policy/v1',
  ServiceMonitor: 'monitoring.coreos.com/v1'
};

type Json = Record<string, unknown>;
type Container = Json & { env: Json[]; ports: Json[]; volumeMounts: Json[]; args: string[] };

function only(chart: RenderedChart, kind: string): Json & KubernetesObject {
  const found = chart.objects.filter(object => object.kind === kind);
  expect(found, kind).toHaveLength(1);
  return found[0] as Json & KubernetesObject;
}

function at(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const key of path) current = (current as Json | undefined)?.[key];
  return current;
}

function container(chart: RenderedChart): Container {
  const containers = at(only(chart, 'Deployment'), 'spec', 'template', 'spec', 'containers') as Container[];
  expect(containers).toHaveLength(1);
  return containers[0] as Container;
}

/** What the API server's validation would refuse in any object: names, labels, annotations. */
function expectWellFormed(object: KubernetesObject): void {
  expect(API_VERSIONS[object.kind], `kind ${object.kind}`).toBe(object.apiVersion);
  expect(object.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
  for (const [key, value] of Object.entries(object.metadata.labels ?? {})) {
    expect(key).toMatch(/^([a-z0-9.-]{1,253}\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/);
    expect(
      typeof value === 'string' && /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/.test(value),
      `label ${key}`
    ).toBe(true);
  }
  for (const [key, value] of Object.entries(object.metadata.annotations ?? {})) {
    expect(typeof value, `annotation ${key} must be a string`).toBe('string');
  }
}

/** The objects refer to each other as Kubernetes resolves them: selectors, ports, volumes, secrets. */
function expectConsistent(chart: RenderedChart): void {
  const deployment = only(chart, 'Deployment');
  const service = only(chart, 'Service');
  const configMap = only(chart, 'ConfigMap');
  const podLabels = at(deployment, 'spec', 'template', 'metadata', 'labels') as Json;
  const selector = at(deployment, 'spec', 'selector', 'matchLabels') as Json;
  expect(Object.keys(selector).length).toBeGreaterThan(0);
  expect(podLabels).toMatchObject(selector);
  expect(at(service, 'spec', 'selector')).toEqual(selector);
  expect(Number.isInteger(at(deployment, 'spec', 'replicas'))).toBe(true);

  const main = container(chart);
  const portNames = main.ports.map(port => port['name']);
  for (const port of main.ports) {
    expect(Number.isInteger(port['containerPort'])).toBe(true);
    expect(String(port['name']).length).toBeLessThanOrEqual(15);
  }
  for (const port of at(service, 'spec', 'ports') as Json[]) {
    expect(portNames).toContain(port['targetPort']);
    expect(port['targetPort']).toBe(port['name']);
    expect(Number.isInteger(port['port'])).toBe(true);
  }

  const secrets = chart.objects.filter(object => object.kind === 'Secret');
  const secretKeys = (name: string): string[] => {
    const secret = secrets.find(object => object.metadata.name === name);
    expect(secret, `Secret ${name}`).toBeDefined();
    return Object.keys((secret?.['stringData'] as Json | undefined) ?? {});
  };
  for (const secret of secrets) {
    for (const value of Object.values(secret['stringData'] as Json)) expect(typeof value).toBe('string');
  }
  for (const variable of main.env) {
    expect(variable['name']).toMatch(/^[A-Za-z_][A-Za-z0-9_]*$/);
    const reference = at(variable, 'valueFrom', 'secretKeyRef') as Json | undefined;
    if (reference === undefined) expect(typeof variable['value'], String(variable['name'])).toBe('string');
    else expect(secretKeys(String(reference['name']))).toContain(reference['key']);
  }
  for (const value of Object.values(configMap['data'] as Json)) expect(typeof value).toBe('string');

  const volumes = at(deployment, 'spec', 'template', 'spec', 'volumes') as Json[];
  for (const mount of main.volumeMounts) expect(volumes.map(volume => volume['name'])).toContain(mount['name']);
  for (const volume of volumes) {
    const fromConfigMap = at(volume, 'configMap', 'name');
    if (fromConfigMap !== undefined) expect(fromConfigMap).toBe(configMap.metadata.name);
    const fromSecret = volume['secret'] as Json | undefined;
    if (fromSecret !== undefined) {
      const keys = secretKeys(String(fromSecret['secretName']));
      for (const item of fromSecret['items'] as Json[]) expect(keys).toContain(item['key']);
    }
    const claim = at(volume, 'persistentVolumeClaim', 'claimName');
    if (claim !== undefined) expect(only(chart, 'PersistentVolumeClaim').metadata.name).toBe(claim);
  }

  const budget = only(chart, 'PodDisruptionBudget');
  expect(at(budget, 'spec', 'selector', 'matchLabels')).toEqual(selector);

  const servicePorts = (at(service, 'spec', 'ports') as Json[]).map(port => port['name']);
  for (const ingress of chart.objects.filter(object => object.kind === 'Ingress')) {
    for (const rule of at(ingress, 'spec', 'rules') as Json[]) {
      for (const path of at(rule, 'http', 'paths') as Json[]) {
        expect(at(path, 'backend', 'service', 'name')).toBe(service.metadata.name);
        expect(servicePorts).toContain(at(path, 'backend', 'service', 'port', 'name'));
        expect(['Prefix', 'Exact', 'ImplementationSpecific']).toContain(path['pathType']);
      }
    }
  }
  for (const monitor of chart.objects.filter(object => object.kind === 'ServiceMonitor')) {
    expect(service.metadata.labels).toMatchObject(at(monitor, 'spec', 'selector', 'matchLabels') as Json);
    for (const endpoint of at(monitor, 'spec', 'endpoints') as Json[]) {
      expect(servicePorts).toContain(endpoint['port']);
      const credentials = at(endpoint, 'authorization', 'credentials') as Json;
      expect(secretKeys(String(credentials['name']))).toContain(credentials['key']);
    }
  }
}

/** The probes and hardening docs/operations.md asks for. */
function expectProbesAndHardening(chart: RenderedChart): void {
  const deployment = only(chart, 'Deployment');
  const main = container(chart);
  for (const [probe, path] of [
    ['livenessProbe', '/healthz'],
    ['readinessProbe', '/readyz']
  ] as const) {
    expect(at(main, probe, 'httpGet')).toEqual({
      path,
      port: 'http',
      httpHeaders: [{ name: 'Host', value: 'localhost' }]
    });
  }
  // Longer than server.readinessTimeoutMs (2 s), so a hanging database reads as 503 rather than a probe timeout.
  expect(at(main, 'readinessProbe', 'timeoutSeconds')).toBeGreaterThan(2);
  const pod = at(deployment, 'spec', 'template', 'spec') as Json;
  expect(pod['securityContext']).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
  expect(Number.isInteger(at(pod, 'securityContext', 'runAsUser'))).toBe(true);
  expect(at(pod, 'securityContext', 'runAsUser')).toBeGreaterThan(0);
  expect(main['securityContext']).toEqual({
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] }
  });
  expect(main.args).toEqual(['serve', '--config', '/etc/sqlbridge/sqlbridge.yaml']);
  expect(main.volumeMounts.map(mount => mount['mountPath'])).toEqual(expect.arrayContaining(['/data', '/tmp']));
  expect(at(main, 'resources', 'requests')).toBeDefined();
}

/**
 * Lays out the pod's files (the ConfigMap and Secret volumes where the container mounts them) under a temporary
 * root, resolves the environment as the kubelet would, and loads the configuration with sqlbridge's loader, from
 * the container's own arguments.
 */
function loadPodConfig(chart: RenderedChart): ReturnType<typeof loadConfig> {
  const root = emptyDir('helm-pod-');
  const deployment = only(chart, 'Deployment');
  const main = container(chart);
  const volumes = at(deployment, 'spec', 'template', 'spec', 'volumes') as Json[];
  const inPod = (path: string): string => join(root, path);
  for (const mount of main.volumeMounts) {
    const volume = volumes.find(candidate => candidate['name'] === mount['name']) as Json;
    const mountPath = String(mount['mountPath']);
    mkdirSync(inPod(mountPath), { recursive: true });
    const configMapName = at(volume, 'configMap', 'name');
    if (configMapName !== undefined) {
      const data = only(chart, 'ConfigMap')['data'] as Record<string, string>;
      for (const [file, content] of Object.entries(data)) writeFileSync(join(inPod(mountPath), file), content);
    }
    const secretVolume = volume['secret'] as Json | undefined;
    if (secretVolume !== undefined) {
      const secret = chart.objects.find(
        object => object.kind === 'Secret' && object.metadata.name === secretVolume['secretName']
      );
      const data = secret?.['stringData'] as Record<string, string>;
      for (const item of secretVolume['items'] as Json[]) {
        const file = join(inPod(mountPath), String(item['path']));
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, data[String(item['key'])] ?? '');
      }
    }
  }
  const env: Record<string, string> = {};
  for (const variable of main.env) {
    const name = String(variable['name']);
    const reference = at(variable, 'valueFrom', 'secretKeyRef') as Json | undefined;
    if (reference === undefined) {
      const value = String(variable['value']);
      env[name] = name.endsWith('_FILE') ? inPod(value) : value;
    } else {
      const secret = chart.objects.find(
        object => object.kind === 'Secret' && object.metadata.name === reference['name']
      );
      env[name] = String(at(secret, 'stringData', String(reference['key'])));
    }
  }
  const { overrides, command } = parseCommandLine(main.args);
  expect(command).toBe('serve');
  const loaded = loadConfig({ cli: { ...overrides, config: inPod(overrides.config ?? '') }, env, cwd: root });
  // What `serve` checks before it starts: a pod whose configuration fails here exits 2 at every start.
  requireEnvironments(loaded);
  assertHttpExposureAllowed(loaded.config);
  return loaded;
}

function renderFailure(values: Json): string {
  try {
    renderChart(CHART, values, RELEASE);
  } catch (error) {
    if (isTemplateFailure(error)) return error.message;
    throw error;
  }
  throw new Error('the render succeeded');
}

describe('Helm chart, default values', () => {
  const chart = renderChart(CHART, {}, RELEASE);

  it('renders a Deployment, Service, ConfigMap and PodDisruptionBudget, nothing optional', () => {
    expect(chart.objects.map(object => object.kind).sort()).toEqual([
      'ConfigMap',
      'Deployment',
      'PodDisruptionBudget',
      'Service'
    ]);
    for (const object of chart.objects) expectWellFormed(object);
    expect(only(chart, 'Deployment').metadata.name).toBe('mcp-sqlbridge');
  });

  it('gives objects that refer to each other correctly, the probes with a Host header, and a hardened pod', () => {
    expectConsistent(chart);
    expectProbesAndHardening(chart);
    const volumes = at(only(chart, 'Deployment'), 'spec', 'template', 'spec', 'volumes') as Json[];
    expect(volumes.find(volume => volume['name'] === 'data')).toEqual({ name: 'data', emptyDir: {} });
  });

  it('holds a configuration that sqlbridge loads, listening on every address of the pod', () => {
    const { config } = loadPodConfig(chart);
    expect(config.server.host).toBe('0.0.0.0');
    expect(config.server.port).toBe(8008);
    expect(config.dataDir).toBe('/data');
    expect(Object.keys(config.environments)).toEqual(['demo']);
    expect(config.metrics.enabled).toBe(false);
    // The URL NOTES.txt sends people to: the service port-forwarded to their machine.
    expect(config.server.publicUrl).toBe('http://localhost:8008');
  });

  it('tells how to reach it in NOTES.txt', () => {
    expect(chart.notes).toContain('kubectl --namespace data port-forward service/mcp-sqlbridge 8008:8008');
    expect(chart.notes).toContain('(the demo: http://localhost:8008/demo/mcp)');
  });
});

describe('Helm chart, three replicas with Redis, metrics, a ServiceMonitor and an Ingress', () => {
  const chart = renderChart(CHART, SCALED_OUT, RELEASE);

  it('renders every object, each well formed and consistent with the others', () => {
    expect(chart.objects.map(object => object.kind).sort()).toEqual([
      'ConfigMap',
      'Deployment',
      'Ingress',
      'PodDisruptionBudget',
      'Secret',
      'Service',
      'ServiceMonitor'
    ]);
    for (const object of chart.objects) expectWellFormed(object);
    expectConsistent(chart);
    expectProbesAndHardening(chart);
    expect(at(only(chart, 'Deployment'), 'spec', 'replicas')).toBe(3);
    expect(container(chart)['image']).toBe('registry.example.com/sqlbridge:1.2.3');
  });

  it('gives the Ingress what streamed responses need from ingress-nginx', () => {
    const ingress = only(chart, 'Ingress');
    expect(ingress.metadata.annotations).toMatchObject({
      'nginx.ingress.kubernetes.io/proxy-buffering': 'off',
      'nginx.ingress.kubernetes.io/proxy-request-buffering': 'off',
      'nginx.ingress.kubernetes.io/proxy-read-timeout': '86400',
      'nginx.ingress.kubernetes.io/proxy-send-timeout': '86400',
      'nginx.ingress.kubernetes.io/proxy-body-size': '1m'
    });
    expect(at(ingress, 'spec', 'tls')).toEqual(SCALED_OUT.ingress.tls);
    expect((at(ingress, 'spec', 'rules') as Json[]).map(rule => rule['host'])).toEqual(['data.example.com']);
  });

  it('hands secrets over as files and variables, never in the ConfigMap or the Deployment', () => {
    const rendered = [...chart.files]
      .filter(([file]) => file !== 'secret.yaml')
      .map(([, text]) => text)
      .join('\n');
    for (const secret of ['redis-secret-9f2c', 'db-secret-71ab', 'metrics-secret-04d1']) {
      expect(rendered).not.toContain(secret);
      expect(chart.files.get('secret.yaml')).toContain(secret);
    }
    const env = container(chart).env;
    expect(env).toContainEqual({ name: 'REDIS_PASSWORD_FILE', value: '/run/secrets/sqlbridge/REDIS_PASSWORD' });
    expect(env).toContainEqual({ name: 'SQLBRIDGE_KEEP_ALIVE_MS', value: '20000' });
  });

  it('holds a configuration that sqlbridge loads with Redis storage, the secrets and the metrics listener', () => {
    const { config } = loadPodConfig(chart);
    expect(config.auth.storage).toBe(SCALED_OUT.redis.url);
    expect(config.auth.storagePassword).toBe('redis-secret-9f2c');
    expect(config.server.publicUrl).toBe('https://data.example.com');
    expect(config.server.trustProxy).toEqual(['10.0.0.0/8']);
    expect(config.logLevel).toBe('debug');
    expect(config.server.keepAliveMs).toBe(20000);
    // The user's environments replace the chart's demo; Helm's merge of values would have kept it beside them.
    expect(Object.keys(config.environments)).toEqual(['warehouse']);
    expect(config.environments['warehouse']?.database).toMatchObject({
      engine: 'postgres',
      password: 'db-secret-71ab'
    });
    expect(config.metrics).toMatchObject({ enabled: true, host: '0.0.0.0', port: 9464, token: 'metrics-secret-04d1' });
    const metricsPort = container(chart).ports.find(port => port['name'] === 'metrics');
    expect(metricsPort?.['containerPort']).toBe(config.metrics.port);
  });

  it('rolls the pods when the configuration changes', () => {
    const annotation = (rendered: RenderedChart): unknown =>
      at(only(rendered, 'Deployment'), 'spec', 'template', 'metadata', 'annotations', 'checksum/config');
    const changed = renderChart(
      CHART,
      { ...SCALED_OUT, config: { ...SCALED_OUT.config, audit: { log: false } } },
      RELEASE
    );
    expect(annotation(chart)).toMatch(/^[0-9a-f]{64}$/);
    expect(annotation(changed)).not.toBe(annotation(chart));
    expect(annotation(renderChart(CHART, SCALED_OUT, RELEASE))).toBe(annotation(chart));
  });

  it('lists the MCP URL of each environment in NOTES.txt', () => {
    expect(chart.notes).toContain('https://data.example.com/warehouse/mcp');
  });
});

describe('Helm chart, settings that cannot work together', () => {
  it('refuses trustProxy without publicUrl', () => {
    expect(renderFailure({ trustProxy: ['10.0.0.0/8'] })).toMatch(/^trustProxy needs publicUrl/);
  });

  it('refuses several replicas without Redis', () => {
    expect(renderFailure({ replicaCount: 3 })).toMatch(/^replicaCount above 1 needs redis\.url/);
  });

  it('refuses a Redis URL of another scheme, a shared volume, metrics without a token, an Ingress without publicUrl', () => {
    expect(renderFailure({ redis: { url: 'http://redis:6379' } })).toBe(
      'redis.url must start with redis:// or rediss://'
    );
    expect(
      renderFailure({ replicaCount: 2, redis: { url: 'redis://r:6379' }, persistence: { enabled: true } })
    ).toMatch(/^persistence\.enabled needs replicaCount 1/);
    expect(renderFailure({ metrics: { enabled: true } })).toMatch(/^metrics\.enabled needs secret\.env\.METRICS_TOKEN/);
    expect(renderFailure({ ingress: { enabled: true, hosts: ['a.example.com'] } })).toMatch(
      /^ingress\.enabled needs publicUrl/
    );
    expect(renderFailure({ secret: { files: { REDIS_PASSWORD: '' } } })).toMatch(
      /^secret\.files\.REDIS_PASSWORD has no value/
    );
  });

  it('keeps one pod on a persistent volume, replaced rather than rolled', () => {
    const chart = renderChart(CHART, { persistence: { enabled: true, size: '5Gi' } }, RELEASE);
    expectConsistent(chart);
    expect(at(only(chart, 'Deployment'), 'spec', 'strategy')).toEqual({ type: 'Recreate' });
    expect(at(only(chart, 'PersistentVolumeClaim'), 'spec', 'resources', 'requests', 'storage')).toBe('5Gi');
  });

  it('uses an existing Secret instead of creating one', () => {
    const chart = renderChart(
      CHART,
      { secret: { existingSecret: 'sqlbridge-credentials', files: { REDIS_PASSWORD: '' } } },
      RELEASE
    );
    expect(chart.objects.some(object => object.kind === 'Secret')).toBe(false);
    const volumes = at(only(chart, 'Deployment'), 'spec', 'template', 'spec', 'volumes') as Json[];
    expect(volumes.find(volume => volume['name'] === 'secrets')?.['secret']).toMatchObject({
      secretName: 'sqlbridge-credentials'
    });
  });
});

describe('the chart README', () => {
  const readme = readFileSync(join(CHART, 'README.md'), 'utf8');
  const defaults = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as Json;
  const rows = readme
    .split('\n')
    .filter(line => /^\| `/.test(line))
    .map(line => line.split('|').map(cell => cell.trim()));
  const documented = rows.flatMap(([, names = '']) => [...names.matchAll(/`([\w.]+)`/g)].map(match => match[1] ?? ''));

  it('documents every value of values.yaml, and only those', () => {
    for (const path of documented) expect(at(defaults, ...path.split('.')), path).not.toBeUndefined();
    for (const key of Object.keys(defaults)) {
      expect(
        documented.some(path => path === key || path.startsWith(`${key}.`)),
        key
      ).toBe(true);
    }
  });

  it('states the defaults values.yaml holds', () => {
    let compared = 0;
    for (const [, names = '', fallback = ''] of rows) {
      const single = /^`([\w.]+)`$/.exec(names)?.[1];
      const literal = /^`([^`]*)`$/.exec(fallback)?.[1];
      if (single === undefined || literal === undefined) continue;
      expect(at(defaults, ...single.split('.')), single).toEqual(parse(literal));
      compared++;
    }
    expect(compared).toBeGreaterThan(20);
  });
});

describe('the template interpreter refuses what it does not implement', () => {
  const render = (source: string, data: unknown = {}): string => {
    const set = new TemplateSet(HELM_FUNCTIONS);
    set.add('t', source);
    return set.execute('t', data);
  };

  it('trims around {{- and -}}, ranges over sorted map keys, and prints float64 as Go does', () => {
    expect(render('a  {{- " b " -}}  c')).toBe('a b c');
    expect(render('{{ range $k, $v := . }}{{ $k }}={{ $v }};{{ end }}', { b: 2, a: 1 })).toBe('a=1;b=2;');
    expect(formatFloat(1048576)).toBe('1.048576e+06');
    expect(formatFloat(86400)).toBe('86400');
  });

  it('fails on unknown functions and keywords, int/float comparisons, and fields of nil', () => {
    expect(() => render('{{ upper "a" }}')).toThrow(/function "upper" is not supported/);
    expect(() => render('{{ block "x" . }}{{ end }}')).toThrow(/not supported/);
    expect(() => render('{{ eq .n 1 }}', { n: 1 })).toThrow(/incompatible types/);
    expect(() => render('{{ .a.b }}', {})).toThrow(/nil pointer/);
    expect(() => render('{{ .a }}', { a: { b: 1 } })).toThrow(/without toYaml/);
  });
});

describe('the chart and the image', () => {
  const dockerfilePath = fileURLToPath(new URL('../../Dockerfile', import.meta.url));
  const containerOf = (values: Json): Json => {
    const containers = at(
      only(renderChart(CHART, values, RELEASE), 'Deployment'),
      'spec',
      'template',
      'spec',
      'containers'
    );
    return (containers as Json[])[0]!;
  };

  it("starts the image's own entrypoint unless nodeFlags are given, and then node with them before the script", () => {
    const [node, ...script] = imageEntrypoint(dockerfilePath);
    const plain = containerOf({});
    expect(plain['command']).toBeUndefined();
    const flagged = containerOf({ nodeFlags: ['--heap-growing-percent=100'] });
    expect(flagged['command']).toEqual([node, '--heap-growing-percent=100', ...script]);
    expect(flagged['args']).toEqual(plain['args']);
  });

  it('runs the pod as the user the Dockerfile runs the server as', () => {
    const dockerfile = readFileSync(dockerfilePath, 'utf8');
    const user = /^USER (\d+):(\d+)$/m.exec(dockerfile);
    const values = parse(
      readFileSync(fileURLToPath(new URL('../../deploy/helm/sqlbridge/values.yaml', import.meta.url)), 'utf8')
    ) as { podSecurityContext: { runAsUser: number; runAsGroup: number; fsGroup: number } };
    expect(user?.slice(1).map(Number)).toEqual([
      values.podSecurityContext.runAsUser,
      values.podSecurityContext.runAsGroup
    ]);
    expect(values.podSecurityContext.fsGroup).toBe(values.podSecurityContext.runAsGroup);
  });
});
