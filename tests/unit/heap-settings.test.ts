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
 * the same environment as the image, so that its figures are those of the image.
 */

const ROOT = join(import.meta.dirname, '..', '..');
const MiB = 1024 * 1024;

/** Allocates short-lived objects (some surviving a while) until V8 has grown its young generation as far as it may. */
const CHURN = `
const v8 = require('node:v8');
const kept = [];
for (let i = 0; i < 4e6; i++) {
  const value = { i, pair: [i, i + 1], text: 'row-' + i };
  if (i % 8 === 0) kept.push(value);
  if (kept.length > 100000) kept.length = 0;
}
const young = v8.getHeapSpaceStatistics().find(space => space.space_name === 'new_space');
process.stdout.write(String(young.space_size));
`;

function youngGenerationBytes(nodeOptions: string | undefined): number {
  const env: Record<string, string> = { PATH: process.env['PATH'] ?? '' };
  if (nodeOptions !== undefined) env['NODE_OPTIONS'] = nodeOptions;
  return Number(execFileSync(process.execPath, ['-e', CHURN], { env, encoding: 'utf8' }));
}

describe('the V8 heap setting of the image', () => {
  const image = imageEnv(join(ROOT, 'Dockerfile'));

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

  it('is described in the operations guide, in English and in Spanish', () => {
    for (const guide of ['docs/operations.md', 'docs/es/operations.md']) {
      const text = readFileSync(join(ROOT, guide), 'utf8');
      expect(text, guide).toContain(`NODE_OPTIONS=${image['NODE_OPTIONS']}`);
    }
  });
});
