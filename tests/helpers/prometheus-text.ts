/**
 * Reads the Prometheus text exposition format into samples, so that tests can compare what a scrape
 * says with what they did. Only what prom-client writes: `name{label="value",…} number` lines and
 * `#` comments.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = LINE.exec(line);
    if (match === null) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(LABEL)) {
      labels[key ?? ''] = (value ?? '').replace(/\\(.)/g, (_all, c: string) => (c === 'n' ? '\n' : c));
    }
    samples.push({ name: match[1] ?? '', labels, value: Number(match[3]) });
  }
  return samples;
}

/** The samples of one metric, each as `label=value,… → number` (labels sorted), for exact comparisons. */
export function series(samples: readonly Sample[], name: string, omit: readonly string[] = []): Record<string, number> {
  const found: Record<string, number> = {};
  for (const sample of samples) {
    if (sample.name !== name) continue;
    const key = Object.entries(sample.labels)
      .filter(([label]) => !omit.includes(label))
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([label, value]) => `${label}=${value}`)
      .join(',');
    found[key] = (found[key] ?? 0) + sample.value;
  }
  return found;
}
