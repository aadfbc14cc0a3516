import { randomBytes } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writePrivateFile } from '../../src/private-file.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import { runCli } from '../helpers/server-process.ts';

/**
 * The data directory holds the signing keys, the OAuth store and the audit trail: an `auth/` or
 * `audit/` every user may write in is refused, and sqlbridge never writes a secret through a link
 * someone planted at a name it writes (a temporary key file, a file being restored).
 */

describe("a data directory's auth/ or audit/ every user may write in", () => {
  it.each([['auth'], ['audit']])('is refused at start, naming it (%s)', async sub => {
    const data = emptyDir('data-dir-open-');
    mkdirSync(join(data, 'auth'), { mode: 0o700 });
    mkdirSync(join(data, 'audit'), { mode: 0o700 });
    const open = join(data, sub);
    chmodSync(open, 0o777);
    const result = await runCli(['demo', '--no-auth', '--data-dir', data, '--port', '0']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `invalid configuration: dataDir: ${open} may be written by every user of this machine (mode 0777)`
    );
  });
});

describe('secrets written through a planted link', () => {
  it('a private file replaces a link at its name instead of writing through it', () => {
    const dir = emptyDir('private-file-');
    const victim = join(dir, 'victim.txt');
    writeFileSync(victim, 'untouched\n', { mode: 0o644 });
    const path = join(dir, 'store.key.1234.tmp');
    symlinkSync(victim, path);
    writePrivateFile(path, 'secret');
    expect(readFileSync(victim, 'utf8')).toBe('untouched\n');
    expect(statSync(victim).mode & 0o777).toBe(0o644);
    expect(lstatSync(path).isSymbolicLink()).toBe(false);
    expect(readFileSync(path, 'utf8')).toBe('secret');
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('restore never writes a restored file through a link left at its staging name', async () => {
    const source = emptyDir('restore-link-source-');
    mkdirSync(join(source, 'auth'), { mode: 0o700 });
    const key = randomBytes(32);
    writeFileSync(join(source, 'auth', 'store.key'), key, { mode: 0o600 });
    const out = join(emptyDir('restore-link-backup-'), 'backup');
    const backup = await runCli(['backup', '--out', out], { env: { SQLBRIDGE_DATA_DIR: source } });
    expect(backup.code, backup.stderr).toBe(0);

    const target = emptyDir('restore-link-target-');
    mkdirSync(join(target, 'auth'), { mode: 0o700 });
    const victim = join(emptyDir('restore-link-victim-'), 'victim.txt');
    writeFileSync(victim, 'untouched\n', { mode: 0o644 });
    symlinkSync(victim, join(target, 'auth', 'store.key.restore.tmp'));
    const restored = await runCli(['restore', '--from', out, '--force'], { env: { SQLBRIDGE_DATA_DIR: target } });
    expect(restored.code, restored.stderr).toBe(0);
    expect(readFileSync(victim, 'utf8')).toBe('untouched\n');
    expect(statSync(victim).mode & 0o777).toBe(0o644);
    expect(readFileSync(join(target, 'auth', 'store.key'))).toEqual(key);
    expect(lstatSync(join(target, 'auth', 'store.key')).isSymbolicLink()).toBe(false);
  });
  it('backup follows a file the data directory links to (a key mounted from a secret) instead of leaving it out', async () => {
    const source = emptyDir('backup-link-source-');
    mkdirSync(join(source, 'auth'), { mode: 0o700 });
    const mounted = join(emptyDir('backup-link-secret-'), 'store.key');
    const key = randomBytes(32);
    writeFileSync(mounted, key, { mode: 0o600 });
    symlinkSync(mounted, join(source, 'auth', 'store.key'));
    // A link to an ancestor is followed once, not for ever.
    symlinkSync(source, join(source, 'auth', 'loop'));
    const out = join(emptyDir('backup-link-out-'), 'backup');
    const backup = await runCli(['backup', '--out', out], { env: { SQLBRIDGE_DATA_DIR: source } });
    expect(backup.code, backup.stderr).toBe(0);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { files: { path: string }[] };
    expect(manifest.files.map(file => file.path)).toEqual(['auth/store.key']);
    const target = join(emptyDir('backup-link-target-'), 'data');
    const restored = await runCli(['restore', '--from', out], { env: { SQLBRIDGE_DATA_DIR: target } });
    expect(restored.code, restored.stderr).toBe(0);
    expect(readFileSync(join(target, 'auth', 'store.key'))).toEqual(key);
    expect(lstatSync(join(target, 'auth', 'store.key')).isSymbolicLink()).toBe(false);
  });
});
