import { readdir } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import type { Config } from '../config/schema.ts';

/**
 * The files of the JSON Lines trail: the current one (`audit.jsonl`) and the rotated ones beside it,
 * named from it (`audit.1.jsonl` the newest, `audit.2.jsonl` the one before, …). The file sink and
 * `sqlbridge audit` both derive the names here, so a reader finds what the writer rotated.
 */

/** The current file of the trail: `audit.file.path`, relative to the data directory. */
export function auditFilePath(config: Config): string {
  return resolve(config.dataDir, config.audit.file.path);
}

/** `x/audit.jsonl` → `x/audit.<index>.jsonl` (a path without an extension: `x/audit.<index>`). */
export function rotatedPath(path: string, index: number): string {
  const extension = extname(path);
  return join(dirname(path), `${basename(path, extension)}.${index}${extension}`);
}

export interface RotatedFile {
  index: number;
  path: string;
}

/** The rotated files that exist, newest (index 1) first. */
export async function rotatedFiles(path: string): Promise<RotatedFile[]> {
  const extension = extname(path);
  const stem = basename(path, extension);
  const pattern = new RegExp(`^${escapeRegExp(stem)}\\.([1-9][0-9]{0,5})${escapeRegExp(extension)}$`);
  let names: string[];
  try {
    names = await readdir(dirname(path));
  } catch (error) {
    if (isMissing(error)) return [];
    throw error;
  }
  const files: RotatedFile[] = [];
  for (const name of names) {
    const index = pattern.exec(name)?.[1];
    if (index !== undefined) files.push({ index: Number(index), path: join(dirname(path), name) });
  }
  return files.sort((a, b) => a.index - b.index);
}

/** ENOENT, or ENOTDIR (a path through something that is not a directory): there is no such file. */
export function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
