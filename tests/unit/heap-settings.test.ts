import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SQLBRIDGE_ENV } from '../../bench/build.ts';
import { resultsSection } from '../../bench/docs-table.ts';
import { benchResults } from '../helpers/bench-results.ts';
import { imageEnv } from '../helpers/dockerfile.ts';

/**
 * The V8 heap setting the image runs sqlbridge with (the Dockerfile's NODE_OPTIONS): Node accepts
 * it, it caps the young generation as the operations guide says, and the bench starts sqlbridge with
 * the same environment as the image, so that its figures are those of the image. And the heap growth, and V8's
 * memory-first mode, an operator may set on node's command line for less memory under load (docs/operations.md,
 * "Memory").
 */

const ROOT = join(import.meta.dirname, '..', '..');
const MiB = 1024 * 1024;
const image = imageEnv(join(ROOT, 'Dockerfile'));

/**
 * Allocates short-lived objects (some surviving a while) until V8 has grown its young generation as far as it may,
 * and prints the young generation's usual size: the median of readings taken as it goes on allocating. V8 may hold
 * more for a moment (with `--optimize-for-size`, a few megabytes in about one reading in ten), so one reading alone
 * can catch it at such a moment.
 */
const CHURN = `
const v8 = require('node:v8');
const kept = [];
const sizes = [];
for (let i = 0; i < 4e6; i++) {
  const value = { i, pair: [i, i + 1], text: 'row-' + i };
  if (i % 8 === 0) kept.push(value);
  if (kept.length > 100000) kept.length = 0;
  if (i >= 2e6 && i % 20000 === 0) {
    sizes.push(v8.getHeapSpaceStatistics().find(space => space.space_name === 'new_space').space_size);
  }
}
sizes.sort((a, b) => a - b);
process.stdout.write(String(sizes[Math.floor(sizes.length / 2)]));
`;

function youngGenerationBytes(nodeOptions: string | undefined, nodeFlags: readonly string[] = []): number {
  const env: Record<string, string> = { PATH: process.env['PATH'] ?? '' };
  if (nodeOptions !== undefined) env['NODE_OPTIONS'] = nodeOptions;
  return Number(execFileSync(process.execPath, [...nodeFlags, '-e', CHURN], { env, encoding: 'utf8' }));
}

/**
 * Keeps a live set, and replaces objects that live long enough to reach the old generation, where they die: the
 * garbage V8 lets the old generation hold until its next full collection, as a server under load makes it. Prints
 * the old generation's largest size over its live size.
 */
const PROMOTED_CHURN = `
const v8 = require('node:v8');
const oldSpace = () => v8.getHeapSpaceStatistics().find(space => space.space_name === 'old_space');
const live = (globalThis.live = []);
for (let i = 0; i < 150000; i++) live.push({ i, text: 'live-' + i, pair: [i, i] });
const ring = new Array(200000);
let peak = 0;
for (let i = 0; i < 5e6; i++) {
  ring[i % ring.length] = { i, pair: [i, i + 1], text: 'row-' + i };
  if (i % 10000 === 0) peak = Math.max(peak, oldSpace().space_size);
}
globalThis.gc();
process.stdout.write(String(peak / oldSpace().space_used_size));
`;

function oldGenerationPeakOverLive(nodeFlags: readonly string[]): number {
  const env = { PATH: process.env['PATH'] ?? '', NODE_OPTIONS: image['NODE_OPTIONS'] ?? '' };
  // Each full collection at once, when the limit is reached: with marking spread over time (as V8 does by default)
  // the program goes on allocating meanwhile, by as much more as the machine is busy.
  const args = [
    '--expose-gc',
    '--no-incremental-marking',
    '--no-concurrent-marking',
    ...nodeFlags,
    '-e',
    PROMOTED_CHURN
  ];
  return Number(execFileSync(process.execPath, args, { env, encoding: 'utf8' }));
}

describe('the V8 heap setting of the image', () => {
  it('limits each semispace to 16 MiB through NODE_OPTIONS, which an operator can override', () => {
    expect(image['NODE_OPTIONS']).toBe('--max-semi-space-size=16');
  });

  it('keeps the young generation within two 16 MiB semispaces under allocation', () => {
    const capped = youngGenerationBytes(image['NODE_OPTIONS']);
    expect(capped).toBeGreaterThan(0);
    expect(capped).toBeLessThanOrEqual(32 * MiB);
  });

  // V8 sizes the young generation from the machine's memory (or the container's limit): on a smaller machine its
  // own choice may already be within the cap, and there is nothing to compare.
  it.skipIf(totalmem() < 16 * 1024 * MiB)(
    'is tighter than what V8 chooses by itself on a machine of 16 GiB or more',
    () => {
      expect(youngGenerationBytes(undefined)).toBeGreaterThan(32 * MiB);
    }
  );

  it('is the environment the bench starts sqlbridge with', () => {
    expect(SQLBRIDGE_ENV).toEqual({ NODE_ENV: image['NODE_ENV'], NODE_OPTIONS: image['NODE_OPTIONS'] });
  });

  it('is named with the published results of a run that recorded it, and not with those of older runs', () => {
    expect(resultsSection(benchResults({ sqlbridgeEnv: SQLBRIDGE_ENV }))).toContain(
      '(sqlbridge with `NODE_OPTIONS=--max-semi-space-size=16`, as its image sets it)'
    );
    expect(resultsSection(benchResults())).not.toContain('NODE_OPTIONS');
  });

  it("is named, with the options node itself was given before sqlbridge's script, with a run's results", () => {
    const options = { ...benchResults().options, nodeFlags: ['--optimize-for-size'] };
    expect(resultsSection(benchResults({ sqlbridgeEnv: SQLBRIDGE_ENV, options }))).toContain(
      '(sqlbridge with `NODE_OPTIONS=--max-semi-space-size=16`, as its image sets it, started as `node --optimize-for-size`)'
    );
    expect(resultsSection(benchResults({ options }))).toContain('(sqlbridge started as `node --optimize-for-size`)');
    expect(resultsSection(benchResults({ options: { ...options, nodeFlags: [] } }))).not.toContain('started as');
  });

  it('is described in the operations guide, in English and in Spanish', () => {
    for (const guide of ['docs/operations.md', 'docs/es/operations.md']) {
      const text = readFileSync(join(ROOT, guide), 'utf8');
      expect(text, guide).toContain(`NODE_OPTIONS=${image['NODE_OPTIONS']}`);
    }
  });
});

describe('the heap growth an operator may set for memory under load', () => {
  const FLAG = '--heap-growing-percent=100';

  it('has V8 collect the old generation once it has about doubled', () => {
    const ratio = oldGenerationPeakOverLive([FLAG]);
    expect(ratio).toBeGreaterThan(1);
    expect(ratio).toBeLessThanOrEqual(2.6);
  });

  it('is tighter than what V8 allows by itself when collections are cheap', () => {
    expect(oldGenerationPeakOverLive([])).toBeGreaterThan(1.4 * oldGenerationPeakOverLive([FLAG]));
  });

  it('is described, with the chart value that sets it, in the operations guide in English and in Spanish', () => {
    for (const guide of ['docs/operations.md', 'docs/es/operations.md']) {
      const text = readFileSync(join(ROOT, guide), 'utf8');
      expect(text, guide).toContain(`nodeFlags: [${FLAG}]`);
      expect(text, guide).toContain(`node ${FLAG} dist/main.js serve`);
    }
    const values = readFileSync(join(ROOT, 'deploy/helm/sqlbridge/values.yaml'), 'utf8');
    expect(values).toMatch(/^nodeFlags: \[\]$/m);
  });
});

describe("V8's memory-first mode an operator may set when memory is all that matters", () => {
  const FLAG = '--optimize-for-size';

  it("keeps the young generation within two 1 MiB semispaces, whatever the image's NODE_OPTIONS say", () => {
    const young = youngGenerationBytes(image['NODE_OPTIONS'], [FLAG]);
    expect(young).toBeGreaterThan(0);
    expect(young).toBeLessThanOrEqual(2 * MiB);
  });

  it('collects the old generation well before V8 would by itself', () => {
    expect(oldGenerationPeakOverLive([])).toBeGreaterThan(2 * oldGenerationPeakOverLive([FLAG]));
  });

  it('is described in the operations guide in English and in Spanish', () => {
    for (const guide of ['docs/operations.md', 'docs/es/operations.md']) {
      expect(readFileSync(join(ROOT, guide), 'utf8'), guide).toContain(`\`${FLAG}\``);
    }
  });
});

describe("the V8 options an operator sets on node's command line", () => {
  it.each(['--heap-growing-percent=100', '--optimize-for-size'])(
    '%s is refused by Node in NODE_OPTIONS, which is why it goes on the command line',
    flag => {
      const env = { PATH: process.env['PATH'] ?? '', NODE_OPTIONS: flag };
      expect(() => execFileSync(process.execPath, ['-e', '0'], { env, stdio: 'pipe' })).toThrow(
        /not allowed in NODE_OPTIONS/
      );
    }
  );
});
