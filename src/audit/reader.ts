import { open, stat, type FileHandle } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AuditRecord } from './record.ts';
import { isMissing, rotatedFiles } from './trail-files.ts';

/**
 * Reads the JSON Lines trail the file sink writes: the rotated files oldest first, then the current
 * file; and, following, what is appended after — across rotations, by watching the current file's
 * identity (device and inode) change under its name. Only complete lines are read: a last line
 * without its newline is a write in progress (or one a crash cut short) and is left for later. A
 * complete line that is not a record (a torn line the sink wrote past after a crash) is skipped and
 * counted in `damaged`.
 */

export interface StoredRecord {
  record: AuditRecord;
  /** The line as stored (without its newline): what `--json` prints. */
  line: string;
}

interface TrailFile {
  handle: FileHandle;
  dev: number;
  ino: number;
  /** Where the next unread line starts. */
  offset: number;
}

interface Identity {
  dev: number;
  ino: number;
}

const CHUNK_BYTES = 64 * 1024;

export class TrailReader {
  readonly path: string;
  /** Complete lines that were not an audit record. */
  damaged = 0;
  private current: TrailFile | undefined;

  constructor(path: string) {
    this.path = path;
  }

  /** Whether there is a trail at all: the current file or a rotated one. */
  async exists(): Promise<boolean> {
    if ((await identity(this.path)) !== undefined) return true;
    return (await rotatedFiles(this.path)).length > 0;
  }

  /** Every record in the trail now, oldest first. The current file stays open, for `follow`. */
  async *records(): AsyncGenerator<StoredRecord> {
    // The current file is opened first: a rotation while the rotated files are read then renames
    // this very file, which is recognised by its identity and read once, last.
    this.current = await openTrailFile(this.path);
    for (const rotated of (await rotatedFiles(this.path)).reverse()) {
      const file = await openTrailFile(rotated.path);
      if (file === undefined) continue;
      try {
        if (!sameFile(file, this.current)) yield* this.lines(file);
      } finally {
        await file.handle.close();
      }
    }
    if (this.current !== undefined) yield* this.lines(this.current);
  }

  /**
   * Records appended after `records()` ended, as they come, until `signal` aborts. The file is
   * polled every `pollMs`: the size of a file being appended to is cheap to look at, and polling
   * works where change notifications do not (network file systems, a file replaced by rename).
   */
  async *follow(signal: AbortSignal, pollMs = 250): AsyncGenerator<StoredRecord> {
    while (!signal.aborted) {
      if (this.current !== undefined) yield* this.lines(this.current);
      const now = await identity(this.path);
      if (now !== undefined && !sameFile(now, this.current)) {
        // Rotated (or created): what was written to the old file before it was renamed, then the
        // files rotated after it (several rotations can happen between two polls), then the new one.
        const previous = this.current;
        this.current = undefined;
        if (previous !== undefined) {
          try {
            yield* this.lines(previous);
            for (const path of await this.rotatedAfter(previous)) {
              const file = await openTrailFile(path);
              if (file === undefined) continue;
              try {
                yield* this.lines(file);
              } finally {
                await file.handle.close();
              }
            }
          } finally {
            await previous.handle.close();
          }
        }
        this.current = await openTrailFile(this.path);
        continue;
      }
      if (now !== undefined && this.current !== undefined && now.size < this.current.offset) {
        // Cut back (a failed write the sink rolled back): read on from its new end.
        this.current.offset = now.size;
      }
      await sleep(pollMs, undefined, { signal }).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    await this.current?.handle.close();
    this.current = undefined;
  }

  /** The rotated files newer than `file` (now rotated itself), oldest first. */
  private async rotatedAfter(file: Identity): Promise<string[]> {
    const rotated = await rotatedFiles(this.path);
    const newer: string[] = [];
    for (const candidate of rotated) {
      const id = await identity(candidate.path);
      if (id !== undefined && sameFile(id, file)) return newer.reverse();
      newer.push(candidate.path);
    }
    // Not found: already deleted beyond maxFiles; what came between cannot be told apart.
    return [];
  }

  /** The complete lines from the file's offset on, as records; the offset moves past each. */
  private async *lines(file: TrailFile): AsyncGenerator<StoredRecord> {
    const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    let carry = Buffer.alloc(0);
    let position = file.offset;
    for (;;) {
      const { bytesRead } = await file.handle.read(chunk, 0, CHUNK_BYTES, position);
      if (bytesRead === 0) return;
      const data =
        carry.length === 0 ? chunk.subarray(0, bytesRead) : Buffer.concat([carry, chunk.subarray(0, bytesRead)]);
      const dataStart = position - carry.length;
      position += bytesRead;
      let start = 0;
      const found: StoredRecord[] = [];
      for (let end = data.indexOf(0x0a); end !== -1; end = data.indexOf(0x0a, start)) {
        const line = data.toString('utf8', start, end);
        start = end + 1;
        file.offset = dataStart + start;
        if (line.trim() === '') continue;
        const record = parseRecord(line);
        if (record === undefined) this.damaged++;
        else found.push({ record, line });
      }
      // Copied: `chunk` is read into again.
      carry = Buffer.from(data.subarray(start));
      yield* found;
    }
  }
}

/** A line of the trail as a record, or undefined when it is not one. */
export function parseRecord(line: string): AuditRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const fields = value as Record<string, unknown>;
  // Every field of the type it has in AuditRecord: a line that parses but holds, say, a number for
  // `user` is damaged like one that does not parse, and the readers never meet it.
  const typed = Object.entries(FIELD_TYPES).every(([name, type]) =>
    REQUIRED_FIELDS.has(name)
      ? typeof fields[name] === type
      : fields[name] === undefined || typeof fields[name] === type
  );
  if (!typed) return undefined;
  const detail = fields['detail'];
  if (detail !== undefined) {
    if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) return undefined;
    if (!Object.values(detail).every(v => ['string', 'number', 'boolean'].includes(typeof v))) return undefined;
  }
  return value as AuditRecord;
}

/** The type of each field of an AuditRecord (see record.ts), `detail` apart. */
const FIELD_TYPES: Readonly<Record<string, 'string' | 'number' | 'boolean'>> = {
  id: 'string',
  time: 'string',
  event: 'string',
  outcome: 'string',
  environment: 'string',
  requestId: 'string',
  user: 'string',
  clientId: 'string',
  remoteAddress: 'string',
  tool: 'string',
  statement: 'string',
  statementHash: 'string',
  durationMs: 'number',
  rows: 'number',
  truncated: 'boolean',
  errorClass: 'string'
};

const REQUIRED_FIELDS: ReadonlySet<string> = new Set(['id', 'time', 'event', 'outcome']);

async function openTrailFile(path: string): Promise<TrailFile | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
  try {
    const { dev, ino } = await handle.stat();
    return { handle, dev, ino, offset: 0 };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

async function identity(path: string): Promise<(Identity & { size: number }) | undefined> {
  try {
    const { dev, ino, size } = await stat(path);
    return { dev, ino, size };
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

function sameFile(a: Identity, b: Identity | undefined): boolean {
  return b !== undefined && a.dev === b.dev && a.ino === b.ino;
}
