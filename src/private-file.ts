import { rmSync, writeFileSync } from 'node:fs';

/**
 * Writes a new file only this user may read (0600): anything already at `path` (a file left by a
 * crash, or a link someone planted to have the content written where they can read it) is removed
 * first, and the file is created exclusively, so a link put there meanwhile makes the write fail
 * instead of being followed.
 */
export function writePrivateFile(path: string, data: string | Uint8Array): void {
  rmSync(path, { force: true });
  writeFileSync(path, data, { mode: 0o600, flag: 'wx' });
}
