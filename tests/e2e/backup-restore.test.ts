import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackupManifest } from '../../src/cli/commands/backup-manifest.ts';
import { hashPassword } from '../../src/auth/server/passwords.ts';
import { DEMO_FILE } from '../../src/demo/demo-database.ts';
import { auditFileIn, readAuditFile, untilAuditFile } from '../helpers/audit-file.ts';
import { demoDataDir, emptyDir } from '../helpers/data-dir.ts';
import {
  authorizationUrl,
  pkce,
  redeemCode,
  refresh,
  registerClient,
  type OAuthClient
} from '../helpers/oauth-client.ts';
import { signIn, type Credentials } from '../helpers/oauth-login.ts';
import { MAIN, PROJECT_ROOT, runCli, startServer, type RunningServer } from '../helpers/server-process.ts';
import { killIfRunning } from '../helpers/shutdown.ts';
import { createSqliteFixture } from '../helpers/sqlite-fixture.ts';
import { callToolRaw, toolResult } from '../helpers/tool-calls.ts';

/**
 * scripts/backup.sh and scripts/restore.sh against the real server: SQLite OAuth storage, the audit
 * trail in its JSON Lines file and in a SQLite table. A person signs in through the real flow; then,
 * while tool calls and client registrations keep the server writing, backup.sh archives the data
 * directory. The server stops, restore.sh puts the archive into a fresh directory, and a new server
 * on it (same address, so the same issuer) honours what was issued before the backup: the access
 * token (same signing key), the refresh token (same client, grant and store key), and the audit
 * records are there.
 */

const ENV = 'notes';
const ANA: Credentials = { username: 'ana', password: 'ana-backup-restore-password' };
const MARKER = `before-backup-${randomBytes(6).toString('hex')}`;
const LOAD_WORKERS = 4;
const SCRIPTS = join(PROJECT_ROOT, 'scripts');
/** How the scripts run sqlbridge here: this Node on the sources (in production, the installed `sqlbridge`). */
const SQLBRIDGE = `${process.execPath} ${MAIN}`;

interface ScriptResult {
  code: number;
  stdout: string;
  stderr: string;
}

function script(name: string, args: string[]): Promise<ScriptResult> {
  return new Promise(resolve => {
    execFile(
      join(SCRIPTS, name),
      args,
      { env: { PATH: process.env['PATH'] ?? '', SQLBRIDGE }, timeout: 120_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      }
    );
  });
}

const servers: RunningServer[] = [];
afterAll(async () => {
  for (const server of servers) await killIfRunning(server);
}, 30_000);

describe('backup.sh while the server runs under load, restore.sh into a fresh data directory', () => {
  const source = emptyDir('backup-source-');
  const archives = join(emptyDir('backup-archives-'), 'sqlbridge');
  const restored = join(emptyDir('backup-restored-'), 'data');
  const config = join(emptyDir('backup-config-'), 'sqlbridge.yaml');
  let client: OAuthClient;
  let before: { access: string; refresh: string };
  let archive = '';
  let backupRun: ScriptResult;
  const load = { ok: 0, failed: [] as string[], duringBackup: 0, registrations: 0 };
  let restoreRun: ScriptResult;
  let server2: RunningServer;

  beforeAll(async () => {
    writeFileSync(
      config,
      [
        `dataDir: ${source}`,
        'environments:',
        `  ${ENV}:`,
        `    database: { engine: sqlite, path: ${JSON.stringify(createSqliteFixture())} }`,
        'auth:',
        '  storage: sqlite',
        '  users:',
        `    - { username: ana, passwordHash: "${await hashPassword(ANA.password)}", environments: [${ENV}] }`,
        'audit:',
        '  database: { engine: sqlite }',
        ''
      ].join('\n')
    );
    const server1 = await startServer({ args: ['serve', '--config', config] });
    servers.push(server1);
    const base = server1.baseUrl;

    // Signed in through the real flow: registration, sign-in, consent, code, tokens.
    client = await registerClient(base, ENV, 'none');
    const { verifier, challenge } = pkce();
    const callback = await signIn(authorizationUrl(base, ENV, client, challenge), ANA);
    const tokens = await redeemCode(base, ENV, client, callback.searchParams.get('code') ?? '', verifier);
    expect(tokens.status).toBe(200);
    before = { access: String(tokens.body['access_token']), refresh: String(tokens.body['refresh_token']) };
    const marked = await callToolRaw(
      base,
      ENV,
      'execute_sql',
      { query: `SELECT '${MARKER}' AS marker` },
      {
        token: before.access
      }
    );
    expect(toolResult(marked.message).isError).toBe(false);
    await untilAuditFile(auditFileIn(source), records => records.some(r => r.statement?.includes(MARKER) === true));

    // The load: tool calls (audit writes) and client registrations (OAuth store writes) until the backup ends.
    let backingUp = true;
    /** Read through a call: the workers see the value of the moment, after each await. */
    const running = (): boolean => backingUp;
    const calls = Array.from({ length: LOAD_WORKERS }, async (_, worker) => {
      for (let i = 0; running(); i++) {
        const answer = await callToolRaw(
          base,
          ENV,
          'execute_sql',
          { query: `SELECT ${worker} AS w, ${i} AS i` },
          {
            token: before.access
          }
        );
        const result = answer.status === 200 ? toolResult(answer.message) : undefined;
        if (result?.isError === false) load.ok++;
        else load.failed.push(`${answer.status} ${JSON.stringify(answer.message)}`);
        if (running()) load.duringBackup++;
      }
    });
    const registrations = (async () => {
      while (running()) {
        const registered = await registerClient(base, ENV, 'none');
        if (registered.answer.status === 201) load.registrations++;
      }
    })();
    backupRun = await script('backup.sh', ['--dest', archives, '--keep', '3', '--config', config]);
    backingUp = false;
    await Promise.all([...calls, registrations]);
    archive = backupRun.stdout.trim();

    expect(await server1.stop()).toBe(0);
    restoreRun = await script('restore.sh', [archive, '--config', config, '--data-dir', restored]);
    // The same address as before: the issuer and the resource the tokens name stay the same.
    server2 = await startServer({
      args: ['serve', '--config', config, '--data-dir', restored],
      port: Number(new URL(base).port)
    });
    servers.push(server2);
  }, 240_000);

  it('the backup ran while the server answered calls and registrations, none failing', () => {
    expect(backupRun.code, backupRun.stderr).toBe(0);
    expect(load.failed).toEqual([]);
    expect(load.duringBackup).toBeGreaterThan(0);
    expect(load.registrations).toBeGreaterThan(0);
  });

  it('writes one archive readable by its owner only, in a directory only its owner enters', () => {
    expect(readdirSync(archives)).toEqual([archive.slice(archives.length + 1)]);
    expect(archive).toMatch(/\/sqlbridge-\d{8}T\d{6}Z\.tar\.gz$/);
    expect(statSync(archive).mode & 0o777).toBe(0o600);
    expect(statSync(archives).mode & 0o777).toBe(0o700);
  });

  it('archives every file of the data directory, each database copied by online backup', () => {
    const manifest = JSON.parse(
      execFileSync('tar', ['-xzOf', archive, 'backup/manifest.json'], { encoding: 'utf8' })
    ) as BackupManifest;
    expect(manifest.files.map(file => `${file.path} ${file.kind}`)).toEqual([
      'audit/audit.jsonl file',
      'audit/audit.sqlite sqlite',
      'auth/auth.sqlite sqlite',
      `auth/${ENV}.keys.json file`,
      'auth/store.key file'
    ]);
  });

  it('restores into the fresh directory, files readable by their owner only', () => {
    expect(restoreRun.code, restoreRun.stderr).toBe(0);
    for (const file of ['auth/auth.sqlite', 'auth/store.key', `auth/${ENV}.keys.json`, 'audit/audit.jsonl']) {
      expect(statSync(join(restored, file)).mode & 0o777, file).toBe(0o600);
    }
    // The key files are the ones the first server made, byte for byte.
    for (const file of ['auth/store.key', `auth/${ENV}.keys.json`]) {
      expect(readFileSync(join(restored, file)).equals(readFileSync(join(source, file))), file).toBe(true);
    }
  });

  it('the restored server accepts the access token issued before the backup (same signing key)', async () => {
    const answer = await callToolRaw(
      server2.baseUrl,
      ENV,
      'execute_sql',
      { query: 'SELECT 1 AS one' },
      {
        token: before.access
      }
    );
    expect(answer.status).toBe(200);
    expect(toolResult(answer.message).isError).toBe(false);
  });

  it('the refresh token issued before the backup works after the restore (client, grant and store key survive)', async () => {
    const refreshed = await refresh(server2.baseUrl, ENV, client, before.refresh);
    expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200);
    const access = String(refreshed.body['access_token']);
    expect(access).not.toBe(before.access);
    const answer = await callToolRaw(
      server2.baseUrl,
      ENV,
      'execute_sql',
      { query: 'SELECT 2 AS two' },
      {
        token: access
      }
    );
    expect(toolResult(answer.message).isError).toBe(false);
    // An unknown refresh token is still refused: the store is checking, not waving through.
    const unknown = await refresh(server2.baseUrl, ENV, client, randomBytes(32).toString('base64url'));
    expect(unknown).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  it('the audit records from before the backup are in the restored file and table', () => {
    const records = readAuditFile(auditFileIn(restored));
    expect(records.filter(record => record.statement?.includes(MARKER) === true)).toHaveLength(1);
    const db = new DatabaseSync(join(restored, 'audit', 'audit.sqlite'), { readOnly: true });
    try {
      const row = db.prepare('SELECT count(*) AS n FROM sqlbridge_audit WHERE statement LIKE ?').get(`%${MARKER}%`);
      expect(row).toEqual({ n: 1 });
    } finally {
      db.close();
    }
  });

  it('restore.sh refuses a data directory that is not empty (2) and a damaged archive (1), writing nothing', async () => {
    const again = await script('restore.sh', [archive, '--config', config, '--data-dir', restored]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('is not empty');

    // The archive with one byte of the store key changed: its checksum no longer matches.
    const work = emptyDir('backup-damaged-');
    execFileSync('tar', ['-C', work, '-xzf', archive]);
    const key = join(work, 'backup', 'data', 'auth', 'store.key');
    const bytes = readFileSync(key);
    bytes[0] = (bytes[0] ?? 0) ^ 0xff;
    writeFileSync(key, bytes);
    const damaged = join(work, 'damaged.tar.gz');
    execFileSync('tar', ['-C', work, '-czf', damaged, 'backup']);
    const target = join(work, 'target');
    const refused = await script('restore.sh', [damaged, '--config', config, '--data-dir', target]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('"data/auth/store.key" does not match its checksum');
    expect(existsSync(target)).toBe(false);
  });

  it('backup.sh keeps the newest --keep archives', async () => {
    const second = await script('backup.sh', ['--dest', archives, '--keep', '1', '--config', config]);
    expect(second.code, second.stderr).toBe(0);
    expect(readdirSync(archives)).toEqual([second.stdout.trim().slice(archives.length + 1)]);
    expect(second.stdout.trim()).not.toBe(archive);
  });
});

describe('sqlbridge backup and restore, the commands the scripts wrap', () => {
  it('usage: --out and --from are required, --out must be new or empty, each option belongs to its command', async () => {
    const data = emptyDir('backup-usage-');
    const env = { SQLBRIDGE_DATA_DIR: data };
    expect(await runCli(['backup'], { env })).toMatchObject({
      code: 2,
      stderr: 'sqlbridge: backup needs --out DIR, a new or empty directory to write the backup to\n'
    });
    expect(await runCli(['restore'], { env })).toMatchObject({
      code: 2,
      stderr: 'sqlbridge: restore needs --from DIR, a backup written by "sqlbridge backup"\n'
    });
    const full = emptyDir('backup-full-');
    writeFileSync(join(full, 'something'), 'x');
    const notEmpty = await runCli(['backup', '--out', full], { env });
    expect(notEmpty.code).toBe(2);
    expect(notEmpty.stderr).toContain(`--out ${full} is not empty`);
    const inside = await runCli(['backup', '--out', join(data, 'backups')], { env });
    expect(inside.code).toBe(2);
    expect(inside.stderr).toContain(`is inside the data directory ${data}; write backups elsewhere`);
    const insideByScript = await script('backup.sh', ['--data-dir', data, '--dest', join(data, 'archives')]);
    expect(insideByScript.code).toBe(2);
    expect((await runCli(['serve', '--out', full], { env })).stderr).toContain(
      '--out is an option of "sqlbridge backup"'
    );
    expect((await runCli(['backup', '--force'], { env })).stderr).toContain(
      '--force is an option of "sqlbridge restore"'
    );
  });

  it('leaves the demo database out unless --include-demo, and says where state it cannot copy lives', async () => {
    const data = demoDataDir();
    const env = { SQLBRIDGE_DATA_DIR: data, SQLBRIDGE_AUTH_STORAGE: 'redis://127.0.0.1:6379/0' };
    const without = join(emptyDir('backup-demo-'), 'out');
    const result = await runCli(['backup', '--out', without], { env });
    expect(result.code, result.stderr).toBe(0);
    expect(existsSync(join(without, 'data', DEMO_FILE))).toBe(false);
    expect(result.stderr).toContain('auth.storage is Redis: the OAuth state and the signing keys are there');
    const withDemo = join(emptyDir('backup-demo-'), 'out');
    expect((await runCli(['backup', '--include-demo', '--out', withDemo], { env })).code).toBe(0);
    const manifest = JSON.parse(readFileSync(join(withDemo, 'manifest.json'), 'utf8')) as BackupManifest;
    expect(manifest.files.find(file => file.path === DEMO_FILE)).toMatchObject({ kind: 'sqlite' });
  });

  it('a manifest naming a file outside the data directory is refused before anything is written', async () => {
    const backup = emptyDir('backup-escape-');
    mkdirSync(join(backup, 'data'));
    const evil = { path: '../escaped', kind: 'file', bytes: 1, sha256: '0'.repeat(64) };
    writeFileSync(
      join(backup, 'manifest.json'),
      JSON.stringify({
        format: 'sqlbridge-backup',
        version: 1,
        sqlbridge: '0',
        createdAt: '2026-01-01T00:00:00.000Z',
        dataDir: '',
        files: [evil]
      })
    );
    const target = join(emptyDir('backup-escape-target-'), 'data');
    const result = await runCli(['restore', '--from', backup], { env: { SQLBRIDGE_DATA_DIR: target } });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('the manifest names a path outside the data directory: "../escaped"');
    expect(existsSync(target)).toBe(false);
  });

  it('a manifest or file name carrying terminal escapes is refused, and no escape reaches the output', async () => {
    const escape = '\u001b]0;owned\u0007\u001b[2J';
    const manifest = { format: 'sqlbridge-backup', version: 1, sqlbridge: '1.0.0', dataDir: '', files: [] };
    const target = join(emptyDir('backup-escapes-target-'), 'data');
    const env = { SQLBRIDGE_DATA_DIR: target };
    const cases = [
      [
        { ...manifest, createdAt: `2026-01-01T00:00:00.000Z${escape}` },
        "the manifest's createdAt is not a UTC timestamp"
      ],
      [{ ...manifest, createdAt: '2026-01-01T00:00:00.000Z', sqlbridge: escape }, "the manifest's sqlbridge version"],
      [
        { ...manifest, createdAt: '2026-01-01T00:00:00.000Z', files: [{ path: 'a', kind: escape, bytes: 0 }] },
        'the manifest lists a file wrongly'
      ],
      [{ ...manifest, createdAt: '2026-01-01T00:00:00.000Z' }, '"data/x\\u001b]0;owned\\u0007" is in the backup']
    ] as const;
    for (const [written, message] of cases) {
      const backup = emptyDir('backup-escapes-');
      mkdirSync(join(backup, 'data'));
      writeFileSync(join(backup, 'data', 'x\u001b]0;owned\u0007'), '');
      writeFileSync(join(backup, 'manifest.json'), JSON.stringify(written));
      const result = await runCli(['restore', '--from', backup], { env });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(message);
      expect(result.stderr + result.stdout).not.toContain('\u001b');
      expect(existsSync(target)).toBe(false);
    }
  });
});
