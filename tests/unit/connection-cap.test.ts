import { describe, expect, it } from 'vitest';
import { connectionCap, RESERVED_FILES, softOpenFileLimit } from '../../src/http/connection-cap.ts';

describe('the cap on open HTTP connections', () => {
  it('keeps the configured cap where the open-file limit leaves room for it', () => {
    expect(connectionCap(20_000, 1_048_576)).toBe(20_000);
    expect(connectionCap(20_000, undefined)).toBe(20_000);
  });

  it('lowers it to leave open files for databases, files and workers', () => {
    expect(connectionCap(20_000, 20_000)).toBe(20_000 - RESERVED_FILES);
    expect(connectionCap(20_000, 1024)).toBe(512);
    expect(connectionCap(20_000, 100)).toBe(16);
  });

  it("reads this process's open-file limit", () => {
    const limit = softOpenFileLimit();
    expect(limit === undefined || (Number.isSafeInteger(limit) && limit > 0)).toBe(true);
    // Linux reports it.
    if (process.platform === 'linux') expect(limit).toBeGreaterThan(0);
  });
});
