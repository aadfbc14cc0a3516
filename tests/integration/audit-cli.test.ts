import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { appendFileSync, cpSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { FileAuditSink } from '../../src/audit/file-sink.ts';
import type { AuditEventName, AuditOutcome, AuditRecord } from '../../src/audit/record.ts';
import { rotatedFiles } from '../../src/audit/trail-files.ts';
import { run } from '../../src/cli/run.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import { MAIN, PROJECT_ROOT, runCli } from '../helpers/server-process.ts';

/**
 * `sqlbridge audit` against a trail written by the file sink (rotated into several files): each
 * filter's output is compared with the records the test selects from what it wrote itself.
 */

const HOUR = 3_600_000;
const USERS = ['ana', 'Ana', 'bob', undefined];
const ENVIRONMENTS = ['production', 'staging'];
const KINDS: [AuditEventName, AuditOutcome, string | undefined][] = [
  ['query.executed', 'ok', undefined],
  ['query.rejected', 'rejected', 'statement_rejected'],
  ['query.failed', 'failed', 'query_timeout'],
  ['auth.login_failed', 'rejected', 'wrong_password'],
  ['tool.called', 'ok', undefined],
  ['token.issued', 'ok', undefined]
];
const TABLES = ['orders', 'Customers', 'payments'];

const now = Date.now();
let dataDir: string;
let trailPath: string;
const written: AuditRecord[] = [];

/** 48 records over the last ten days, oldest first: every user, environment and kind of event. */
function buildRecords(): AuditRecord[] {
  return Array.from({ length: 48 }, (_, i) => {
    const [event, outcome, errorClass] = KINDS[i % KINDS.length]!;
    const user = USERS[i % USERS.length];
    const r: AuditRecord = {
      id: randomUUID(),
      time: new Date(now - ((47 - i) * 5 + 0.5) * HOUR).toISOString(),
      event,
      outcome,
      environment: ENVIRONMENTS[Math.floor(i / 4) % 2]!,
      clientId: i % 3 === 0 ? 'client-a' : 'client-b'
    };
    if (user !== undefined) r.user = user;
    if (event.startsWith('query.')) {
      r.tool = 'run_query';
      r.statement = `SELECT *\n  FROM ${TABLES[i % 3]!} WHERE id = ${i}`;
      r.durationMs = i * 7;
      if (outcome === 'ok') {
        r.rows = i;
        r.truncated = i % 2 === 0;
      }
    }
    if (errorClass !== undefined) r.errorClass = errorClass;
    return r;
  });
}

beforeAll(async () => {
  dataDir = emptyDir('audit-cli-');
  trailPath = join(dataDir, 'audit', 'audit.jsonl');
  const sink = new FileAuditSink({ path: trailPath, maxBytes: 4096, maxFiles: 100 });
  const records = buildRecords();
  // Batches of a few, as the trail writes them.
  for (let i = 0; i < records.length; i += 5) await sink.write(records.slice(i, i + 5));
  written.push(...records);
  expect((await rotatedFiles(trailPath)).length).toBeGreaterThan(1);
});

interface Result {
  code: number;
  out: string;
  err: string;
}

/** `sqlbridge audit --data-dir <dir> …`, in this process, its output captured. */
async function audit(args: string[], dir = dataDir): Promise<Result> {
  let out = '';
  let err = '';
  const line = (text: string): string => (text.endsWith('\n') ? text : `${text}\n`);
  const code = await run(['audit', '--data-dir', dir, ...args], {
    env: {},
    cwd: dir,
    io: { out: text => (out += line(text)), err: text => (err += line(text)) }
  });
  return { code, out, err };
}

const lines = (text: string): string[] => text.split('\n').filter(l => l !== '');
const jsonIds = (text: string): string[] => lines(text).map(l => (JSON.parse(l) as AuditRecord).id);
const idsOf = (records: AuditRecord[]): string[] => records.map(r => r.id);
const select = (keep: (r: AuditRecord) => boolean): AuditRecord[] => written.filter(keep);

describe('sqlbridge audit', () => {
  it('prints exactly one user’s records in one environment (any case of the name), as stored', async () => {
    const expected = select(r => r.user?.toLowerCase() === 'ana' && r.environment === 'production');
    expect(expected.length).toBeGreaterThan(1);
    expect(new Set(expected.map(r => r.user))).toEqual(new Set(['ana', 'Ana']));
    const result = await audit(['--user', 'ana', '--env', 'production', '--json']);
    expect(result).toMatchObject({ code: 0, err: '' });
    expect(jsonIds(result.out)).toEqual(idsOf(expected));
    // The lines themselves, byte for byte.
    expect(lines(result.out)).toEqual(expected.map(r => JSON.stringify(r)));
  });

  it('--json escapes what a terminal would act on (C1 controls, bidi and zero-width characters), same record', async () => {
    const dir = emptyDir('audit-cli-hostile-');
    const sink = new FileAuditSink({ path: join(dir, 'audit', 'audit.jsonl'), maxBytes: 1_000_000, maxFiles: 2 });
    const hostile: AuditRecord = {
      id: 'hostile-1',
      time: new Date(now).toISOString(),
      event: 'tool.called',
      outcome: 'rejected',
      tool: 'x\u009b2J\u202eevil\u200b'
    };
    await sink.write([hostile]);
    const result = await audit(['--json'], dir);
    expect(result.code).toBe(0);
    expect(result.out).not.toMatch(/[\u0080-\u009f\u200b\u202e]/u);
    expect(JSON.parse(lines(result.out)[0] ?? '')).toEqual(hostile);
  });

  it('does the same as a real process', async () => {
    const expected = select(r => r.user?.toLowerCase() === 'ana' && r.environment === 'production');
    const result = await runCli(['audit', '--data-dir', dataDir, '--user', 'ANA', '--env', 'production', '--json']);
    expect(result.code).toBe(0);
    expect(jsonIds(result.stdout)).toEqual(idsOf(expected));
  });

  it('filters by time: spans ago and ISO times, both ends included', async () => {
    const since = select(r => Date.parse(r.time) >= now - 48 * HOUR);
    expect(since.length).toBeGreaterThan(0);
    expect(since.length).toBeLessThan(written.length);
    expect(jsonIds((await audit(['--since', '2d', '--json'])).out)).toEqual(idsOf(since));

    const [from, to] = [written[10]!.time, written[20]!.time];
    const between = select(r => r.time >= from && r.time <= to);
    expect(between).toHaveLength(11);
    expect(jsonIds((await audit(['--since', from, '--until', to, '--json'])).out)).toEqual(idsOf(between));
    const until = select(r => Date.parse(r.time) <= now - 100 * HOUR);
    expect(jsonIds((await audit(['--until', '100h', '--json'])).out)).toEqual(idsOf(until));
  });

  it('filters by outcome and by event name or group', async () => {
    const cases: [string[], (r: AuditRecord) => boolean][] = [
      [['--outcome', 'rejected'], r => r.outcome === 'rejected'],
      [['--event', 'query.'], r => r.event.startsWith('query.')],
      [['--event', 'auth'], r => r.event.startsWith('auth.')],
      [['--event', 'query.failed'], r => r.event === 'query.failed'],
      [['--event', 'query.', '--outcome', 'rejected'], r => r.event.startsWith('query.') && r.outcome === 'rejected'],
      [['--client', 'client-a', '--outcome', 'ok'], r => r.clientId === 'client-a' && r.outcome === 'ok']
    ];
    for (const [args, keep] of cases) {
      const expected = select(keep);
      expect(expected.length, args.join(' ')).toBeGreaterThan(0);
      expect(expected.length, args.join(' ')).toBeLessThan(written.length);
      expect(jsonIds((await audit([...args, '--json'])).out), args.join(' ')).toEqual(idsOf(expected));
    }
  });

  it('searches statement, tool, user, client and error class without regard to case', async () => {
    const customers = select(r => r.statement?.toLowerCase().includes('customers') === true);
    expect(customers.length).toBeGreaterThan(0);
    expect(jsonIds((await audit(['--search', 'CUSTOMERS', '--json'])).out)).toEqual(idsOf(customers));
    const password = select(r => r.errorClass === 'wrong_password');
    expect(jsonIds((await audit(['--search', 'Wrong_Pass', '--json'])).out)).toEqual(idsOf(password));
  });

  it('keeps the last N matches with --limit', async () => {
    const bob = select(r => r.user === 'bob');
    expect(bob.length).toBeGreaterThan(3);
    expect(jsonIds((await audit(['--user', 'bob', '--limit', '3', '--json'])).out)).toEqual(idsOf(bob.slice(-3)));
    const table = await audit(['--user', 'bob', '--limit', '2']);
    expect(lines(table.out)).toHaveLength(3);
    expect(lines(table.out)[2]!.startsWith(bob.at(-1)!.time)).toBe(true);
  });

  it('prints a table: a header, then one aligned line per record, oldest first', async () => {
    const expected = select(r => r.environment === 'staging' && r.user === 'bob');
    const result = await audit(['--env', 'staging', '--user', 'bob']);
    expect(result.code).toBe(0);
    const [header, ...rows] = lines(result.out);
    expect(header!.split(/\s+/)).toEqual([
      'TIME',
      'EVENT',
      'OUTCOME',
      'ENV',
      'USER',
      'CLIENT',
      'TOOL',
      'DURATION',
      'ROWS',
      'ERROR',
      'STATEMENT'
    ]);
    expect(rows).toHaveLength(expected.length);
    const at = (title: string): number => header!.indexOf(title);
    for (const [i, r] of expected.entries()) {
      const row = rows[i]!;
      expect(row.startsWith(`${r.time}  ${r.event}`)).toBe(true);
      expect(row.slice(at('OUTCOME')).startsWith(r.outcome)).toBe(true);
      expect(row.slice(at('ENV')).startsWith('staging')).toBe(true);
      expect(row.slice(at('USER')).startsWith('bob')).toBe(true);
      expect(row.slice(at('CLIENT')).startsWith(r.clientId!)).toBe(true);
      expect(row.slice(at('ERROR')).startsWith(r.errorClass ?? '-')).toBe(true);
      // The statement on one line.
      expect(row.slice(at('STATEMENT'))).toBe(r.statement?.replace(/\s+/g, ' ') ?? '-');
      const duration = row.slice(0, at('DURATION') + 'DURATION'.length).trimEnd();
      expect(duration.endsWith(r.durationMs === undefined ? '-' : `${r.durationMs} ms`)).toBe(true);
    }
  });

  it('says so when nothing matches', async () => {
    expect(await audit(['--user', 'nobody'])).toEqual({
      code: 0,
      out: '',
      err: `sqlbridge: no audit record matches (read ${trailPath} and its rotated files)\n`
    });
  });

  it('refuses bad values with a usage error naming the option', async () => {
    const cases: [string[], string][] = [
      [['--since', 'yesterday'], '--since'],
      [['--until', '2025-02-30'], '--until'],
      [['--limit=-1'], '--limit'],
      [['--limit', '-1'], '--limit'],
      [['--limit', '0'], '--limit'],
      [['--limit', 'ten'], '--limit'],
      [['--outcome', 'denied'], '--outcome'],
      [['--event', 'qeury.'], '--event'],
      [['--user', ''], '--user'],
      [['--since', '1d', '--until', '2d'], '--since']
    ];
    for (const [args, flag] of cases) {
      const result = await audit(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.out).toBe('');
      expect(result.err, args.join(' ')).toContain(flag);
    }
    const elsewhere = await runCli(['serve', '--user', 'ana']);
    expect(elsewhere).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--user is an option of "sqlbridge audit"')
    });
  });

  it('exits 1 naming the path when there is no trail', async () => {
    const dir = emptyDir('audit-cli-none-');
    const result = await audit([], dir);
    expect(result).toEqual({
      code: 1,
      out: '',
      err: `sqlbridge: there is no audit trail at ${join(dir, 'audit', 'audit.jsonl')}\n`
    });
  });

  it('reads a trail whose last line is torn (a write in progress, or a crash)', async () => {
    const dir = emptyDir('audit-cli-torn-');
    cpSync(join(dataDir, 'audit'), join(dir, 'audit'), { recursive: true });
    appendFileSync(join(dir, 'audit', 'audit.jsonl'), '{"id":"4f1c","time":"2025-');
    const result = await audit(['--json'], dir);
    expect(result).toMatchObject({ code: 0, err: '' });
    expect(jsonIds(result.out)).toEqual(idsOf(written));
  });

  it('--follow prints matching records as they are appended, across rotations, until SIGTERM', async () => {
    const dir = emptyDir('audit-cli-follow-');
    const path = join(dir, 'audit', 'audit.jsonl');
    const sink = new FileAuditSink({ path, maxBytes: 1024, maxFiles: 20 });
    const record = (user: string): AuditRecord => ({
      id: randomUUID(),
      time: new Date().toISOString(),
      event: 'query.executed',
      outcome: 'ok',
      environment: 'production',
      user,
      statement: 'SELECT count(*) FROM orders'
    });
    const before = [record('ana'), record('bob')];
    await sink.write(before);
    const child = spawn(process.execPath, [MAIN, 'audit', '--data-dir', dir, '--user', 'ana', '--json', '--follow'], {
      cwd: PROJECT_ROOT,
      env: { PATH: process.env['PATH'] ?? '' },
      stdio: ['ignore', 'pipe', 'pipe']
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    try {
      await vi.waitFor(() => expect(jsonIds(stdout)).toEqual([before[0]!.id]), { timeout: 20_000, interval: 100 });
      const appended = [record('bob'), record('ana'), record('Ana')];
      await sink.write(appended);
      await vi.waitFor(() => expect(jsonIds(stdout)).toHaveLength(3), { timeout: 10_000, interval: 100 });
      // Enough to rotate the file several times.
      const rotating = Array.from({ length: 12 }, (_, i) => record(i % 2 === 0 ? 'ana' : 'bob'));
      for (const r of rotating) await sink.write([r]);
      expect((await rotatedFiles(path)).length).toBeGreaterThan(1);
      const expected = [before[0]!, ...appended, ...rotating].filter(r => r.user?.toLowerCase() === 'ana');
      await vi.waitFor(() => expect(jsonIds(stdout)).toEqual(idsOf(expected)), { timeout: 10_000, interval: 100 });
    } finally {
      child.kill('SIGTERM');
    }
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
    expect(stderr).toBe('');
  });
});
