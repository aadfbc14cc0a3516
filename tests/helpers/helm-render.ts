import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { goStructs, TemplateSet } from './go-template.ts';
import { HELM_FUNCTIONS } from './helm-functions.ts';

/**
 * Renders a Helm chart as `helm template` does (https://helm.sh/docs/chart_template_guide/), for charts written
 * in the subset of the template language tests/helpers/go-template.ts interprets: the chart's values.yaml with the
 * given values coalesced over it, `.Values`, `.Release`, `.Chart`; every file of templates/ parsed into one set;
 * files starting with `_` only define; NOTES.txt rendered apart.
 */

export interface ReleaseOptions {
  name: string;
  namespace: string;
}

export interface RenderedChart {
  /** Rendered text of each manifest template, by file name (empty ones included). */
  files: Map<string, string>;
  /** Every Kubernetes object the manifests hold, parsed as Kubernetes parses YAML (1.1: `off` is a boolean). */
  objects: KubernetesObject[];
  notes: string;
}

export interface KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, unknown> };
  [field: string]: unknown;
}

type Values = Record<string, unknown>;

function isMap(value: unknown): value is Values {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Helm's coalescing of user values over the chart's defaults: maps merge, other values replace, null removes. */
export function coalesceValues(defaults: Values, overrides: Values): Values {
  const out: Values = {};
  for (const [key, value] of Object.entries(defaults)) {
    if (!Object.hasOwn(overrides, key)) out[key] = structuredClone(value);
  }
  for (const [key, value] of Object.entries(overrides)) {
    const existing = defaults[key];
    if (value === null) continue;
    out[key] = isMap(existing) && isMap(value) ? coalesceValues(existing, value) : structuredClone(value);
  }
  return out;
}

function struct<T extends object>(value: T): T {
  goStructs.add(value);
  return value;
}

export function renderChart(chartDir: string, overrides: Values, release: ReleaseOptions): RenderedChart {
  const chart = parse(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8')) as Values;
  const defaults = (parse(readFileSync(join(chartDir, 'values.yaml'), 'utf8')) ?? {}) as Values;
  const field = (key: string): string => {
    const value = chart[key];
    if (typeof value !== 'string') throw new Error(`Chart.yaml: ${key} must be a string`);
    return value;
  };
  const chartName = field('name');
  const data = struct({
    Values: coalesceValues(defaults, overrides),
    Release: struct({
      Name: release.name,
      Namespace: release.namespace,
      Service: 'Helm',
      IsInstall: true,
      IsUpgrade: false,
      Revision: 1
    }),
    Chart: struct({
      Name: chartName,
      Version: field('version'),
      AppVersion: field('appVersion'),
      Description: field('description')
    })
  });

  const templates = new TemplateSet(HELM_FUNCTIONS);
  const dir = join(chartDir, 'templates');
  const names = readdirSync(dir).sort();
  for (const file of names) {
    if (!/\.(yaml|yml|tpl|txt)$/.test(file)) throw new Error(`unexpected file in templates/: ${file}`);
    templates.add(`${chartName}/templates/${file}`, readFileSync(join(dir, file), 'utf8'));
  }

  const files = new Map<string, string>();
  const objects: KubernetesObject[] = [];
  let notes = '';
  for (const file of names) {
    if (file.startsWith('_')) continue;
    const output = templates.execute(`${chartName}/templates/${file}`, data);
    if (file === 'NOTES.txt') {
      notes = output;
      continue;
    }
    files.set(file, output);
    for (const document of parseAllDocuments(output, { version: '1.1', uniqueKeys: true })) {
      if (document.errors.length > 0) {
        throw new Error(`${file} does not render as YAML: ${document.errors[0]?.message ?? ''}\n${output}`);
      }
      const object: unknown = document.toJS();
      if (object === null || object === undefined) continue;
      if (!isMap(object)) throw new Error(`${file} renders a document that is not a mapping`);
      objects.push(object as KubernetesObject);
    }
  }
  return { files, objects, notes };
}
