import { statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors/config-error.ts';

/**
 * The data directory's `auth/` holds the signing keys and the OAuth store, its `audit/` the audit
 * trail. Where every user of the machine may write in one of them, anyone could plant a link at a name
 * sqlbridge is about to write, and have the keys written where they can read them, or the trail
 * appended to a file of theirs: such a directory is refused, naming it. sqlbridge creates both private
 * (0700); the data directory itself may be shared (a Kubernetes emptyDir is world-writable).
 */
export function assertPrivateDataDir(dataDir: string): void {
  for (const path of [join(dataDir, 'auth'), join(dataDir, 'audit')]) {
    let mode: number;
    try {
      mode = statSync(path).mode;
    } catch {
      continue;
    }
    if ((mode & 0o002) === 0) continue;
    throw ConfigError.single(
      'dataDir',
      `${path} may be written by every user of this machine (mode ${(mode & 0o7777).toString(8).padStart(4, '0')}), who could make sqlbridge write its keys where they can read them; make it private (chmod o-w, or 0700)`
    );
  }
}
