import { chmodSync, constants, copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { assertPrivateDataDir } from '../../config/data-dir-policy.ts';
import { dirname, join, resolve } from 'node:path';
import type { LoadedConfig } from '../../config/load.ts';
import { createLogger } from '../../observability/logger.ts';
import type { CliIo } from '../io.ts';
import { BackupCheckError, FILES_DIR, verifyBackup } from './backup-manifest.ts';

/**
 * `sqlbridge restore --from DIR [--force]`: puts a backup made by `sqlbridge backup` back into the
 * data directory. Nothing is written until the whole backup has been checked: its manifest, every
 * file's size and SHA-256, SQLite's integrity check of each database, and that it holds nothing
 * the manifest does not list. A data directory that already holds files is refused unless --force
 * (then the backup's files replace theirs; files the backup does not hold stay). sqlbridge must
 * not be running on that directory. Each file is written beside its place and renamed into it, and
 * a restored database loses any write-ahead log of the one it replaces (a stale log would be
 * replayed into it). Exit codes: 0 restored; 1 the backup fails its checks or a file cannot be
 * written; 2 usage (no --from, or a data directory not empty without --force).
 */

export interface RestoreFlags {
  from: string | undefined;
  force: boolean;
}

export async function restoreCommand(
  loaded: LoadedConfig,
  flags: RestoreFlags,
  cwd: string,
  io: CliIo
): Promise<number> {
  const logger = createLogger(loaded.config.logLevel);
  if (flags.from === undefined) {
    io.err('sqlbridge: restore needs --from DIR, a backup written by "sqlbridge backup"');
    return 2;
  }
  const from = resolve(cwd, flags.from);
  const dataDir = loaded.config.dataDir;
  assertPrivateDataDir(dataDir);
  let manifest;
  try {
    manifest = verifyBackup(from);
  } catch (error) {
    if (!(error instanceof BackupCheckError)) throw error;
    io.err(`sqlbridge: the backup in ${from} cannot be restored: ${error.message}; nothing was written`);
    return 1;
  }
  if (existsSync(dataDir) && readdirSync(dataDir).length > 0 && !flags.force) {
    io.err(
      `sqlbridge: the data directory ${dataDir} is not empty; stop sqlbridge and restore with --force to replace its files, or restore into an empty directory (--data-dir)`
    );
    return 2;
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  for (const entry of manifest.files) {
    const target = join(dataDir, entry.path);
    const staged = `${target}.restore.tmp`;
    try {
      mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
      // Made anew (never through a link someone left at the staging name), then renamed into place.
      rmSync(staged, { force: true });
      copyFileSync(join(from, FILES_DIR, entry.path), staged, constants.COPYFILE_EXCL);
      chmodSync(staged, 0o600);
      if (entry.kind === 'sqlite') {
        for (const suffix of ['-wal', '-shm', '-journal']) rmSync(`${target}${suffix}`, { force: true });
      }
      renameSync(staged, target);
    } catch (error) {
      rmSync(staged, { force: true });
      io.err(`sqlbridge: restore failed at ${target}: ${(error as Error).message}`);
      return 1;
    }
  }
  logger.info(
    { from, dataDir, files: manifest.files.length, createdAt: manifest.createdAt, sqlbridge: manifest.sqlbridge },
    'backup restored'
  );
  io.out(`restored ${manifest.files.length} files of the backup of ${manifest.createdAt} into ${dataDir}`);
  return 0;
}
