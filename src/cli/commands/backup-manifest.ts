import { createHash } from 'node:crypto';
import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { isAbsolute, join, normalize, sep } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

/**
 * What `sqlbridge backup` writes and `sqlbridge restore` reads: a directory holding `manifest.json`
 * and, under `data/`, a copy of every file it lists, at the same path relative to the data
 * directory. The manifest names each file with its size and SHA-256, so that a restore can prove
 * the whole backup intact before it writes anything.
 */

export const MANIFEST_FILE = 'manifest.json';
export const FILES_DIR = 'data';
export const BACKUP_FORMAT = 'sqlbridge-backup';
export const BACKUP_VERSION = 1;

/** `sqlite`: a consistent copy made with SQLite's online backup; `file`: the file's bytes. */
export type BackupKind = 'sqlite' | 'file';

export interface BackupEntry {
  /** Relative to the data directory, with `/` separators. */
  path: string;
  kind: BackupKind;
  bytes: number;
  sha256: string;
}

export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  version: typeof BACKUP_VERSION;
  sqlbridge: string;
  createdAt: string;
  dataDir: string;
  files: BackupEntry[];
}

/** A backup that cannot be trusted: missing, damaged, altered or not one at all. */
export class BackupCheckError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackupCheckError';
  }
}

// https://www.sqlite.org/fileformat.html#the_database_header: the 16 bytes every database file starts with.
const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

export function isSqliteFile(path: string): boolean {
  const head = Buffer.alloc(SQLITE_HEADER.length);
  const fd = openSync(path, 'r');
  try {
    return readSync(fd, head, 0, head.length, 0) === head.length && head.equals(SQLITE_HEADER);
  } finally {
    closeSync(fd);
  }
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** A manifest path that stays inside the directory it is joined to: relative, normalised, no `..`. */
export function isContainedPath(path: string): boolean {
  if (path === '' || isAbsolute(path) || path.includes('\\') || path.includes('\0')) return false;
  const normalised = normalize(path);
  return normalised === path && !normalised.split(sep).some(part => part === '..' || part === '.' || part === '');
}

/** Every regular file under `dir`, as relative paths with `/` separators. */
export function filesUnder(dir: string, prefix = ''): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const relative = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) found.push(...filesUnder(dir, relative));
    else if (entry.isFile()) found.push(relative);
  }
  return found.sort();
}

function readManifest(dir: string): BackupManifest {
  let parsed: Partial<BackupManifest>;
  try {
    parsed = JSON.parse(readFileSync(join(dir, MANIFEST_FILE), 'utf8')) as Partial<BackupManifest>;
  } catch (error) {
    throw new BackupCheckError(`${join(dir, MANIFEST_FILE)} cannot be read: ${(error as Error).message}`);
  }
  if (parsed.format !== BACKUP_FORMAT || parsed.version !== BACKUP_VERSION || !Array.isArray(parsed.files)) {
    throw new BackupCheckError(
      `${join(dir, MANIFEST_FILE)} is not a manifest of a sqlbridge backup (format ${BACKUP_FORMAT}, version ${BACKUP_VERSION})`
    );
  }
  // Restore prints the time and version; a manifest written by hand must not put terminal escapes there.
  if (typeof parsed.createdAt !== 'string' || !TIMESTAMP.test(parsed.createdAt)) {
    throw new BackupCheckError(`the manifest's createdAt is not a UTC timestamp: ${JSON.stringify(parsed.createdAt)}`);
  }
  if (typeof parsed.sqlbridge !== 'string' || !VERSION_TEXT.test(parsed.sqlbridge)) {
    throw new BackupCheckError(`the manifest's sqlbridge version is not one: ${JSON.stringify(parsed.sqlbridge)}`);
  }
  for (const entry of parsed.files as unknown[]) {
    if (!isEntry(entry)) throw new BackupCheckError(`the manifest lists a file wrongly: ${JSON.stringify(entry)}`);
  }
  return parsed as BackupManifest;
}

/** What `new Date().toISOString()` writes. */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/** A package version: `1.2.3`, `1.2.3-rc.1+build`. */
const VERSION_TEXT = /^[\w.+-]{1,64}$/;

function isEntry(value: unknown): value is BackupEntry {
  if (typeof value !== 'object' || value === null) return false;
  const entry = value as Partial<Record<keyof BackupEntry, unknown>>;
  return (
    typeof entry.path === 'string' &&
    (entry.kind === 'sqlite' || entry.kind === 'file') &&
    Number.isSafeInteger(entry.bytes) &&
    (entry.bytes as number) >= 0 &&
    typeof entry.sha256 === 'string' &&
    /^[0-9a-f]{64}$/.test(entry.sha256)
  );
}

/**
 * The manifest of the backup in `dir`, once every file it lists is there with its size and
 * checksum, every SQLite copy passes SQLite's own check, and nothing else is there.
 */
export function verifyBackup(dir: string): BackupManifest {
  const manifest = readManifest(dir);
  const root = join(dir, FILES_DIR);
  const listed = new Set<string>();
  for (const entry of manifest.files) {
    if (!isContainedPath(entry.path)) {
      throw new BackupCheckError(`the manifest names a path outside the data directory: ${JSON.stringify(entry.path)}`);
    }
    listed.add(entry.path);
  }
  let present: string[];
  try {
    present = filesUnder(root);
  } catch (error) {
    throw new BackupCheckError(`${root} cannot be read: ${(error as Error).message}`);
  }
  const extra = present.find(path => !listed.has(path));
  if (extra !== undefined) throw new BackupCheckError(`${quoted(extra)} is in the backup but not in its manifest`);
  for (const entry of manifest.files) {
    const path = join(root, entry.path);
    if (!present.includes(entry.path)) throw new BackupCheckError(`${quoted(entry.path)} is missing`);
    if (statSync(path).size !== entry.bytes || sha256File(path) !== entry.sha256) {
      throw new BackupCheckError(`${quoted(entry.path)} does not match its checksum in the manifest`);
    }
    if (entry.kind === 'sqlite') checkSqlite(path, entry.path);
  }
  return manifest;
}

/** A file of the backup, as a message names it: quoted, so that no byte of its name reaches a terminal as is. */
function quoted(path: string): string {
  return JSON.stringify(`${FILES_DIR}/${path}`);
}

/** SQLite's quick_check on a copy (stored in rollback-journal mode, so reading it creates no file beside it). */
function checkSqlite(path: string, name: string): void {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const rows = db.prepare('PRAGMA quick_check').all() as { quick_check: string }[];
    if (rows.length !== 1 || rows[0]?.quick_check !== 'ok') {
      throw new BackupCheckError(`${quoted(name)} fails SQLite's integrity check`);
    }
  } finally {
    db.close();
  }
}
