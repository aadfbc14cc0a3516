import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { AuditRecord } from './record.ts';
import type { AuditSink } from './sink.ts';
import { rotatedFiles, rotatedPath } from './trail-files.ts';

/**
 * The audit trail as JSON Lines: one record per line, appended to `audit.jsonl` in the data
 * directory, rotated by size into `audit.1.jsonl` (the newest) … `audit.<maxFiles>.jsonl`.
 *
 * Each batch opens the file (O_APPEND, created 0600 in a directory created 0700 when missing),
 * appends its lines with one write, syncs the data to disk and closes the file. Batches come every
 * ~250 ms, so the open/close costs nothing that matters, and in return a file or directory that was
 * deleted or rotated away by someone else is simply created again on the next batch, with no
 * descriptor left pointing at a deleted file. The sync is what makes a successful `write()` mean
 * "on disk": the trail forgets a batch once it is written, and an audit trail that loses its last
 * second at a power cut is not one.
 *
 * A batch that fails half-way is rolled back (the file is cut back to its size before the write),
 * and records that already reached a rotated file are remembered by id, so the trail's retry of the
 * same batch writes each record once.
 */

export interface FileSinkOptions {
  /** The current file; rotated files are named from it. */
  path: string;
  /** The current file is rotated before a record would take it beyond this size. */
  maxBytes: number;
  /** Rotated files kept. */
  maxFiles: number;
}

interface OpenFile {
  handle: FileHandle;
  size: number;
  /** The file ends in a torn line (a crash mid-write): the next record must start on a line of its own. */
  torn: boolean;
  /** The file is new (or empty): its directory entry is synced with its first write. */
  fresh: boolean;
}

export class FileAuditSink implements AuditSink {
  readonly name = 'file';
  private readonly options: FileSinkOptions;
  /** Records of a failed batch that are on disk already (they went to a file rotated since). */
  private readonly written = new Set<string>();

  constructor(options: FileSinkOptions) {
    this.options = options;
  }

  get path(): string {
    return this.options.path;
  }

  async write(records: readonly AuditRecord[]): Promise<void> {
    const pending = this.written.size === 0 ? records : records.filter(record => !this.written.has(record.id));
    try {
      await this.append(pending);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`cannot write the audit file ${this.path}: ${reason}`, { cause: error });
    }
    this.written.clear();
  }

  async close(): Promise<void> {
    // Nothing is held open between batches.
  }

  private async append(records: readonly AuditRecord[]): Promise<void> {
    if (records.length === 0) return;
    let file = await this.open();
    try {
      let lines: string[] = [];
      let ids: string[] = [];
      let bytes = 0;
      for (const record of records) {
        const line = `${JSON.stringify(record)}\n`;
        const length = Buffer.byteLength(line);
        if (file.size + bytes + length > this.options.maxBytes && file.size + bytes > 0) {
          await this.commit(file, lines, ids);
          lines = [];
          ids = [];
          bytes = 0;
          await file.handle.close();
          await this.rotate();
          file = await this.open();
        }
        lines.push(line);
        ids.push(record.id);
        bytes += length;
      }
      await this.commit(file, lines, ids);
    } finally {
      await file.handle.close().catch(() => undefined);
    }
  }

  /** Opens the current file for appending, creating it (and its directory) when missing. */
  private async open(): Promise<OpenFile> {
    let handle: FileHandle;
    try {
      handle = await open(this.path, 'a+', 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
      handle = await open(this.path, 'a+', 0o600);
    }
    try {
      const { size } = await handle.stat();
      let torn = false;
      if (size > 0) {
        const last = Buffer.alloc(1);
        await handle.read(last, 0, 1, size - 1);
        torn = last[0] !== 0x0a;
      }
      return { handle, size, torn, fresh: size === 0 };
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw error;
    }
  }

  /** Appends the lines in one write and syncs them; on failure the file is cut back to where it was. */
  private async commit(file: OpenFile, lines: readonly string[], ids: readonly string[]): Promise<void> {
    if (lines.length === 0) return;
    const data = Buffer.from((file.torn ? '\n' : '') + lines.join(''));
    const before = file.size;
    try {
      let offset = 0;
      while (offset < data.length) {
        const { bytesWritten } = await file.handle.write(data, offset, data.length - offset);
        offset += bytesWritten;
      }
      await file.handle.datasync();
    } catch (error) {
      await file.handle.truncate(before).catch(() => undefined);
      throw error;
    }
    file.size += data.length;
    file.torn = false;
    for (const id of ids) this.written.add(id);
    if (file.fresh) {
      file.fresh = false;
      await syncDirectory(dirname(this.path));
    }
  }

  /** `audit.jsonl` → `audit.1.jsonl`, each rotated file one up; those beyond `maxFiles` are deleted. */
  private async rotate(): Promise<void> {
    const { path, maxFiles } = this.options;
    for (const file of await rotatedFiles(path)) {
      if (file.index >= maxFiles) await rm(file.path, { force: true });
    }
    for (let index = maxFiles - 1; index >= 1; index--) {
      await rename(rotatedPath(path, index), rotatedPath(path, index + 1)).catch(ignoreMissing);
    }
    await rename(path, rotatedPath(path, 1));
    await syncDirectory(dirname(path));
  }
}

function ignoreMissing(error: unknown): void {
  if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
}

/** Makes renames and new files in a directory durable. Best effort: not every file system can. */
async function syncDirectory(path: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, 'r');
    await handle.sync();
  } catch {
    // A file system that cannot sync a directory still has the data synced.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
