import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  statSync,
  writeFileSync
} from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { backup, DatabaseSync } from 'node:sqlite';
import { auditFilePath } from '../../audit/trail-files.ts';
import type { LoadedConfig } from '../../config/load.ts';
import { DEMO_FILE } from '../../demo/demo-database.ts';
import { createLogger, type Logger } from '../../observability/logger.ts';
import { VERSION } from '../../version.ts';
import type { CliIo } from '../io.ts';
import {
  BACKUP_FORMAT,
  BACKUP_VERSION,
  FILES_DIR,
  isSqliteFile,
  MANIFEST_FILE,
  sha256File,
  type BackupEntry,
  type BackupManifest
} from './backup-manifest.ts';

/**
 * `sqlbridge backup --out DIR [--include-demo]`: a copy of the data directory that is safe to take
 * while sqlbridge runs. Every SQLite database in it (the OAuth store auth/auth.sqlite, an audit
 * table's file) is copied with SQLite's online backup, in one step, so the copy is one consistent
 * snapshot even while the server writes (https://www.sqlite.org/backup.html); a plain copy of a
 * live database can be torn. The audit trail's JSON Lines are copied up to their last complete
 * line. The keys (auth/store.key, auth/<env>.keys.json, auth/demo-login.json) are written by
 * sqlbridge all at once (temporary file, then rename), so they are read whole. The demo database
 * is left out unless asked for: it is large and sqlbridge makes it again when it is missing.
 * Exit codes: 0 written; 1 a file could not be read or written; 2 usage (no --out, or --out not empty).
 */

export interface BackupFlags {
  out: string | undefined;
  includeDemo: boolean;
}

/** SQLite's own files beside a database, and files written by halves before a rename: never copied. */
const TRANSIENT = /(?:-wal|-shm|-journal|\.tmp)$/;
/** One backup step copies every page: the copy is a single snapshot (a database above 8 TiB would need more). */
const ALL_PAGES = 2 ** 31 - 1;

export async function backupCommand(loaded: LoadedConfig, flags: BackupFlags, cwd: string, io: CliIo): Promise<number> {
  const config = loaded.config;
  const logger = createLogger(config.logLevel);
  if (flags.out === undefined) {
    io.err('sqlbridge: backup needs --out DIR, a new or empty directory to write the backup to');
    return 2;
  }
  const out = resolve(cwd, flags.out);
  const dataDir = config.dataDir;
  if (existsSync(out) && readdirSync(out).length > 0) {
    io.err(`sqlbridge: --out ${out} is not empty; a backup is written to a new or empty directory`);
    return 2;
  }
  if (isInside(dataDir, out)) {
    // The next backup would copy this one, and every one before it.
    io.err(`sqlbridge: --out ${out} is inside the data directory ${dataDir}; write backups elsewhere`);
    return 2;
  }
  warnAboutStateElsewhere(loaded, logger);
  if (!existsSync(dataDir)) {
    io.err(`sqlbridge: the data directory ${dataDir} does not exist (dataDir, --data-dir or SQLBRIDGE_DATA_DIR)`);
    return 1;
  }
  mkdirSync(join(out, FILES_DIR), { recursive: true, mode: 0o700 });
  chmodSync(out, 0o700);
  const files: BackupEntry[] = [];
  for (const path of filesToCopy(dataDir, flags.includeDemo)) {
    const source = join(dataDir, path);
    const target = join(out, FILES_DIR, path);
    mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
    try {
      const kind = isSqliteFile(source) ? 'sqlite' : 'file';
      if (kind === 'sqlite') await copySqlite(source, target);
      else writeFileSync(target, readWhole(source), { mode: 0o600 });
      chmodSync(target, 0o600);
      files.push({ path, kind, bytes: statSync(target).size, sha256: sha256File(target) });
      logger.debug({ file: path, kind }, 'backup: file copied');
    } catch (error) {
      // A file that vanished while the directory was read (a rotated audit file) is not an error.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      io.err(`sqlbridge: backup failed at ${source}: ${(error as Error).message}`);
      return 1;
    }
  }
  const manifest: BackupManifest = {
    format: BACKUP_FORMAT,
    version: BACKUP_VERSION,
    sqlbridge: VERSION,
    createdAt: new Date().toISOString(),
    dataDir,
    files
  };
  writeFileSync(join(out, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  const bytes = files.reduce((sum, file) => sum + file.bytes, 0);
  logger.info({ out, dataDir, files: files.length, bytes }, 'backup written');
  io.out(`backup of ${dataDir}: ${files.length} files, ${bytes} bytes, in ${out}`);
  return 0;
}

function filesToCopy(dataDir: string, includeDemo: boolean): string[] {
  return sourceFiles(dataDir).filter(path => !TRANSIENT.test(path) && (includeDemo || path !== DEMO_FILE));
}

/**
 * Every file under the data directory as the server reads it: a symbolic link (a key file mounted
 * from a Kubernetes Secret, say) is followed, and what it points to is backed up as a file of its
 * own, rather than left out of the backup unsaid. A directory reached twice (a link to an ancestor)
 * is listed once.
 */
function sourceFiles(dir: string, prefix = '', seen = new Set<string>([realpathSync(dir)])): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const relativePath = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    const full = join(dir, relativePath);
    let kind: 'file' | 'directory' | undefined;
    if (entry.isFile()) kind = 'file';
    else if (entry.isDirectory()) kind = 'directory';
    else if (entry.isSymbolicLink()) {
      // A link to nothing (or to something that is neither) has nothing to back up.
      const target = statSync(full, { throwIfNoEntry: false });
      kind = target?.isFile() === true ? 'file' : target?.isDirectory() === true ? 'directory' : undefined;
    }
    if (kind === 'file') found.push(relativePath);
    if (kind === 'directory') {
      const real = realpathSync(full);
      if (seen.has(real)) continue;
      seen.add(real);
      found.push(...sourceFiles(dir, relativePath, seen));
    }
  }
  return found.sort();
}

/** `path` is `dir` or somewhere below it. */
function isInside(dir: string, path: string): boolean {
  const route = relative(dir, path);
  return route === '' || (!route.startsWith(`..${sep}`) && route !== '..' && !isAbsolute(route));
}

/** An online backup in one step, stored in rollback-journal mode so that the copy is one self-contained file. */
async function copySqlite(source: string, target: string): Promise<void> {
  const db = new DatabaseSync(source, { readOnly: true, timeout: 5000 });
  try {
    await backup(db, target, { rate: ALL_PAGES });
  } finally {
    db.close();
  }
  const copy = new DatabaseSync(target);
  try {
    copy.exec('PRAGMA journal_mode = DELETE');
  } finally {
    copy.close();
  }
}

/** A file's bytes; a JSON Lines file up to its last complete line (the server may be appending one). */
function readWhole(path: string): Buffer {
  const bytes = readFileSync(path);
  if (!path.endsWith('.jsonl')) return bytes;
  const end = bytes.lastIndexOf(0x0a);
  return bytes.subarray(0, end + 1);
}

/** State this command cannot copy, said once so that whoever relies on the backup knows. */
function warnAboutStateElsewhere(loaded: LoadedConfig, logger: Logger): void {
  const { config } = loaded;
  const inside = (path: string): boolean => isInside(config.dataDir, path);
  if (/^rediss?:/i.test(config.auth.storage)) {
    logger.warn(
      'auth.storage is Redis: the OAuth state and the signing keys are there, not in the data directory; back up Redis (its RDB or AOF files) as well'
    );
  } else if (config.auth.storage === 'memory') {
    logger.warn('auth.storage is memory: the OAuth state lives only in the running process and cannot be backed up');
  }
  if (config.audit.file.enabled && !inside(auditFilePath(config))) {
    logger.warn({ path: auditFilePath(config) }, 'audit.file.path is outside the data directory: not in this backup');
  }
  const database = config.audit.database;
  if (database?.engine === 'sqlite' && !inside(resolve(config.dataDir, database.path))) {
    logger.warn({ path: database.path }, 'audit.database.path is outside the data directory: not in this backup');
  }
  if (database?.engine === 'postgres') {
    logger.warn('audit.database is PostgreSQL: back its table up with the database (pg_dump)');
  }
}
