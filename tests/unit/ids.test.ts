import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { randomId } from '../../src/ids.ts';

/** Request, session and audit record ids: random version-4 UUIDs (RFC 9562), as `crypto.randomUUID()` makes them. */

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('randomId', () => {
  it('makes version-4 UUIDs, none twice, across many refills of its random pool', () => {
    const ids = Array.from({ length: 10_000 }, () => randomId());
    for (const id of ids) expect(id).toMatch(UUID_V4);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('fixes only the version and variant bits: every other digit takes every value', () => {
    const ids = Array.from({ length: 4000 }, () => randomId());
    for (let position = 0; position < 36; position++) {
      const seen = new Set(ids.map(id => id[position]));
      if ([8, 13, 18, 23].includes(position)) expect(seen).toEqual(new Set(['-']));
      else if (position === 14) expect(seen).toEqual(new Set(['4']));
      else if (position === 19) expect(seen).toEqual(new Set(['8', '9', 'a', 'b']));
      else expect(seen.size, `position ${position}`).toBe(16);
    }
  });

  it('holds each id in one flat string, not the tree of pieces randomUUID() leaves', () => {
    // 100,000 ids kept alive: as flat strings of 36 one-byte characters they take about 56 bytes
    // each; crypto.randomUUID()'s results, built by concatenation, about 480 (measured alongside,
    // so that the test fails if either stops being what it says).
    const ids = new URL('../../src/ids.ts', import.meta.url).href;
    const script = `
      import { randomUUID } from 'node:crypto';
      import { randomId } from ${JSON.stringify(ids)};
      const used = () => { globalThis.gc(); globalThis.gc(); return process.memoryUsage().heapUsed; };
      const per = make => {
        const before = used();
        const kept = Array.from({ length: 100000 }, make);
        const after = used();
        if (kept.length !== 100000) throw new Error('lost ids');
        return (after - before) / kept.length;
      };
      randomId(); randomUUID();
      process.stdout.write(JSON.stringify({ randomId: per(randomId), randomUUID: per(() => randomUUID()) }));
    `;
    const bytes = JSON.parse(
      execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8' })
    ) as { randomId: number; randomUUID: number };
    // Each id also takes its 8-byte slot in the array.
    expect(bytes.randomId).toBeLessThan(100);
    expect(bytes.randomUUID).toBeGreaterThan(300);
  });
});
