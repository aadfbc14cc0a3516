import { randomUUID } from 'node:crypto';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileAuditSink } from '../../src/audit/file-sink.ts';
import { TrailReader } from '../../src/audit/reader.ts';
import type { AuditRecord } from '../../src/audit/record.ts';
import { rotatedFiles, rotatedPath } from '../../src/audit/trail-files.ts';
import { emptyDir } from '../helpers/data-dir.ts';

function record(fields: Partial<AuditRecord> = {}): AuditRecord {
  return {
    id: randomUUID(),
    time: new Date().toISOString(),
    event: 'query.executed',
    outcome: 'ok',
    environment: 'production',
    user: 'ana',
    statement: 'SELECT id, name FROM customers WHERE id = 42',
    ...fields
  };
}

const batch = (n: number, fields: Partial<AuditRecord> = {}): AuditRecord[] =>
  Array.from({ length: n }, () => record(fields));

const lineBytes = (r: AuditRecord): number => Buffer.byteLength(`${JSON.stringify(r)}\n`);

/** The records of one file, in order. */
function recordsOf(path: string): AuditRecord[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(line => line !== '')
    .map(line => JSON.parse(line) as AuditRecord);
}

/** Every record of the trail, oldest file first, read back the way `sqlbridge audit` reads it. */
async function trail(path: string): Promise<{ records: AuditRecord[]; damaged: number }> {
  const reader = new TrailReader(path);
  const records: AuditRecord[] = [];
  for await (const stored of reader.records()) records.push(stored.record);
  await reader.close();
  return { records, damaged: reader.damaged };
}

describe('audit file sink', () => {
  it('appends one JSON object per line, in order, in a file 0600 in a directory created 0700', async () => {
    const dir = emptyDir('audit-file-');
    const path = join(dir, 'audit', 'nested', 'audit.jsonl');
    const sink = new FileAuditSink({ path, maxBytes: 1024 * 1024, maxFiles: 3 });
    const first = batch(3);
    const second = batch(2, { user: 'bob', detail: { kind: 'query', grant: 'g1', count: 2, ok: true } });
    await sink.write(first);
    await sink.write(second);
    expect(recordsOf(path)).toEqual([...first, ...second]);
    expect(readFileSync(path, 'utf8').endsWith('\n')).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'audit')).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'audit', 'nested')).mode & 0o777).toBe(0o700);
    await sink.close();
  });

  it('rotates before a file would grow beyond maxBytes, keeps exactly maxFiles rotated files, and keeps the newest records', async () => {
    const dir = emptyDir('audit-rotate-');
    const path = join(dir, 'audit.jsonl');
    const maxBytes = 2048;
    const maxFiles = 3;
    const sink = new FileAuditSink({ path, maxBytes, maxFiles });
    const written: AuditRecord[] = [];
    for (let n = 0; n < 60; n++) {
      const records = batch(2, { tool: `tool_${n}` });
      written.push(...records);
      await sink.write(records);
    }
    const rotated = await rotatedFiles(path);
    expect(rotated.map(file => file.index)).toEqual([1, 2, 3]);
    expect(existsSync(rotatedPath(path, maxFiles + 1))).toBe(false);
    const files = [...rotated.map(file => file.path).reverse(), path];
    for (const file of files) expect(statSync(file).size).toBeLessThanOrEqual(maxBytes);
    // A rotated file was rotated only because the next record would not have fitted.
    for (let i = 0; i < files.length - 1; i++) {
      const next = recordsOf(files[i + 1]!)[0]!;
      expect(statSync(files[i]!).size + lineBytes(next)).toBeGreaterThan(maxBytes);
    }
    const { records: kept, damaged } = await trail(path);
    expect(damaged).toBe(0);
    expect(kept.length).toBeLessThan(written.length);
    expect(kept.length).toBeGreaterThan(0);
    // The newest records, all of them, in order: the oldest were deleted with the oldest file.
    expect(kept).toEqual(written.slice(-kept.length));
    await sink.close();
  });

  it('derives rotated names from the configured path', () => {
    expect(rotatedPath('/var/lib/sqlbridge/audit/audit.jsonl', 1)).toBe('/var/lib/sqlbridge/audit/audit.1.jsonl');
    expect(rotatedPath('/x/trail.log.jsonl', 12)).toBe('/x/trail.log.12.jsonl');
    expect(rotatedPath('/x/trail', 2)).toBe('/x/trail.2');
  });

  it('writes a record larger than maxBytes, alone, in a fresh file', async () => {
    const dir = emptyDir('audit-large-');
    const path = join(dir, 'audit.jsonl');
    const sink = new FileAuditSink({ path, maxBytes: 1024, maxFiles: 5 });
    const small = record();
    const large = record({ statement: `SELECT '${'x'.repeat(4000)}'` });
    const after = record();
    await sink.write([small]);
    await sink.write([large, after]);
    expect(recordsOf(rotatedPath(path, 2))).toEqual([small]);
    expect(recordsOf(rotatedPath(path, 1))).toEqual([large]);
    expect(recordsOf(path)).toEqual([after]);
  });

  it('spreads a batch larger than maxBytes over several files, none beyond maxBytes', async () => {
    const dir = emptyDir('audit-big-batch-');
    const path = join(dir, 'audit.jsonl');
    const maxBytes = 1024;
    const sink = new FileAuditSink({ path, maxBytes, maxFiles: 50 });
    const records = batch(40);
    await sink.write(records);
    const rotated = await rotatedFiles(path);
    expect(rotated.length).toBeGreaterThan(1);
    for (const file of [...rotated.map(f => f.path), path]) expect(statSync(file).size).toBeLessThanOrEqual(maxBytes);
    expect((await trail(path)).records).toEqual(records);
  });

  it('creates its directory and file again when they are deleted while it runs', async () => {
    const dir = emptyDir('audit-deleted-');
    const path = join(dir, 'audit', 'audit.jsonl');
    const sink = new FileAuditSink({ path, maxBytes: 1024 * 1024, maxFiles: 3 });
    await sink.write(batch(2));
    rmSync(join(dir, 'audit'), { recursive: true });
    const after = batch(2);
    await sink.write(after);
    expect(recordsOf(path)).toEqual(after);
    expect(statSync(join(dir, 'audit')).mode & 0o777).toBe(0o700);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    // The file alone, too.
    rmSync(path);
    const again = batch(1);
    await sink.write(again);
    expect(recordsOf(path)).toEqual(again);
  });

  it('throws, naming the path, when its directory cannot be created, and writes again once it can', async () => {
    const dir = emptyDir('audit-blocked-');
    const blocker = join(dir, 'audit');
    const path = join(blocker, 'audit.jsonl');
    writeFileSync(blocker, 'a regular file where the directory should be');
    const sink = new FileAuditSink({ path, maxBytes: 1024 * 1024, maxFiles: 3 });
    const records = batch(3);
    await expect(sink.write(records)).rejects.toThrow(`cannot write the audit file ${path}: `);
    await expect(sink.write(records)).rejects.toThrow(/EEXIST|ENOTDIR/);
    rmSync(blocker);
    // The trail retries the same batch: written once.
    await sink.write(records);
    expect(recordsOf(path)).toEqual(records);
  });

  it('throws on a full device (ENOSPC), naming the path, and writes again once there is room', async () => {
    const dir = emptyDir('audit-full-');
    const path = join(dir, 'audit.jsonl');
    symlinkSync('/dev/full', path);
    const sink = new FileAuditSink({ path, maxBytes: 1024 * 1024, maxFiles: 3 });
    const records = batch(2);
    await expect(sink.write(records)).rejects.toThrow(`cannot write the audit file ${path}: ENOSPC`);
    rmSync(path);
    await sink.write(records);
    expect(recordsOf(path)).toEqual(records);
  });

  it('writes each record once when a batch that failed part-way (at a rotation) is retried', async () => {
    const dir = emptyDir('audit-partial-');
    const path = join(dir, 'audit.jsonl');
    const sink = new FileAuditSink({ path, maxBytes: 1024, maxFiles: 3 });
    // A directory where the oldest rotated file goes: the rotation cannot delete it.
    mkdirSync(rotatedPath(path, 3));
    writeFileSync(join(rotatedPath(path, 3), 'x'), 'x');
    const first = record();
    const perRecord = lineBytes(first);
    const records = [first, ...batch(Math.ceil(1024 / perRecord) + 2)];
    await expect(sink.write(records)).rejects.toThrow(`cannot write the audit file ${path}`);
    // Records before the rotation are on disk.
    expect(recordsOf(path).length).toBeGreaterThan(0);
    rmSync(rotatedPath(path, 3), { recursive: true });
    await sink.write(records);
    const { records: kept } = await trail(path);
    expect(kept).toEqual(records);
  });

  it('starts a new line after a line a crash tore, and the reader skips only the torn line', async () => {
    const dir = emptyDir('audit-torn-');
    const path = join(dir, 'audit.jsonl');
    const sink = new FileAuditSink({ path, maxBytes: 1024 * 1024, maxFiles: 3 });
    const before = batch(2);
    await sink.write(before);
    appendFileSync(path, '{"id":"torn","time":"2025-01-');
    // Before anything is written after it, a torn last line is a write in progress: not damage.
    expect(await trail(path)).toEqual({ records: before, damaged: 0 });
    const after = batch(2);
    await sink.write(after);
    expect(await trail(path)).toEqual({ records: [...before, ...after], damaged: 1 });
  });

  it('deletes rotated files beyond a lowered maxFiles at its next rotation', async () => {
    const dir = emptyDir('audit-lowered-');
    const path = join(dir, 'audit.jsonl');
    const wide = new FileAuditSink({ path, maxBytes: 1024, maxFiles: 6 });
    for (let n = 0; n < 30; n++) await wide.write(batch(2));
    expect((await rotatedFiles(path)).map(f => f.index)).toEqual([1, 2, 3, 4, 5, 6]);
    const narrow = new FileAuditSink({ path, maxBytes: 1024, maxFiles: 2 });
    for (let n = 0; n < 6; n++) await narrow.write(batch(2));
    expect((await rotatedFiles(path)).map(f => f.index)).toEqual([1, 2]);
  });
});
