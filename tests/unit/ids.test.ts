import { describe, expect, it } from 'vitest';
import { randomId } from '../../src/http/ids.ts';

/** Request and session ids: random version-4 UUIDs, as `crypto.randomUUID()` makes them. */

describe('randomId', () => {
  it('makes version-4 UUIDs, none twice', () => {
    const ids = Array.from({ length: 10_000 }, () => randomId());
    for (const id of ids.slice(0, 100)) {
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
    expect(new Set(ids).size).toBe(ids.length);
  });
});
