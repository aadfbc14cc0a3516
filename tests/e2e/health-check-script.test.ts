import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/auth/server/passwords.ts';
import { createPostgresDatabase, POSTGRES } from '../dialects/engines/postgres.ts';
import { deployBehindNginx, type Deployment } from '../helpers/behind-nginx.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import { freeLoopbackPort } from '../helpers/nginx.ts';
import { PROJECT_ROOT, startServer, type RunningServer } from '../helpers/server-process.ts';
import { killIfRunning } from '../helpers/shutdown.ts';
import { createSqliteFixture } from '../helpers/sqlite-fixture.ts';

/**
 * scripts/health-check.sh as a monitor runs it, against real servers: a healthy one (0, every check
 * named), the same once stopped, one whose PostgreSQL database cannot be reached (not ready), and
 * one behind nginx whose certificate (valid one day) expires within the threshold. Exit codes: 0 ok,
 * 1 a check failed, 2 usage.
 */

const SCRIPT = join(PROJECT_ROOT, 'scripts', 'health-check.sh');

interface Check {
  code: number;
  stdout: string;
  stderr: string;
}

function healthCheck(args: string[]): Promise<Check> {
  return new Promise(resolve => {
    execFile(SCRIPT, [...args, '--timeout', '5'], { timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
    });
  });
}

const servers: RunningServer[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const server of servers) await killIfRunning(server);
  for (const cleanup of cleanups) await cleanup();
}, 60_000);

async function serve(environments: string[]): Promise<RunningServer> {
  const dir = emptyDir('health-check-');
  const config = join(dir, 'sqlbridge.yaml');
  writeFileSync(
    config,
    [
      `dataDir: ${dir}`,
      'server: { readinessTimeoutMs: 1000 }',
      'environments:',
      ...environments,
      'auth:',
      '  users:',
      `    - { username: ana, passwordHash: "${await hashPassword('ana-health-check-password')}", environments: ["*"] }`,
      ''
    ].join('\n')
  );
  const server = await startServer({ args: ['serve', '--config', config] });
  servers.push(server);
  return server;
}

describe('a server over plain http', () => {
  let server: RunningServer;

  beforeAll(async () => {
    server = await serve([
      '  notes:',
      `    database: { engine: sqlite, path: ${JSON.stringify(createSqliteFixture())} }`
    ]);
  }, 60_000);

  it('healthy: exit 0, health, readiness and both discovery documents of each environment checked', async () => {
    const result = await healthCheck([server.baseUrl]);
    expect(result.code, result.stdout).toBe(0);
    expect(result.stdout.split('\n')).toEqual([
      'OK    healthz: 200',
      'OK    readyz: 200',
      'OK    notes: protected resource metadata',
      'OK    notes: authorization server metadata',
      `sqlbridge OK: ${server.baseUrl}`,
      ''
    ]);
  });

  it('an environment the server does not have: its documents are missing, exit 1', async () => {
    const result = await healthCheck([server.baseUrl, '--env', 'nowhere']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^FAIL {2}nowhere: protected resource metadata: 404/m);
    expect(result.stdout).toMatch(/^FAIL {2}nowhere: authorization server metadata: 404/m);
  });

  it('stopped: exit 1, nothing answers', async () => {
    expect(await server.stop()).toBe(0);
    const result = await healthCheck([server.baseUrl]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^FAIL {2}healthz: 000 curl: \(7\)/m);
    expect(result.stdout).toMatch(/^FAIL {2}readyz: 000/m);
    expect(result.stdout).toMatch(/^sqlbridge CRITICAL: 2 check\(s\) failed/m);
  });
});

describe('a server whose database is down', () => {
  it('serves (healthz 200) but is not ready: exit 1 naming readyz and the database', async () => {
    const port = await freeLoopbackPort();
    const server = await serve([
      '  warehouse:',
      `    database: { engine: postgres, host: 127.0.0.1, port: ${port}, user: ${POSTGRES.user}, database: test, tls: disable }`
    ]);
    const result = await healthCheck([server.baseUrl]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^OK {4}healthz: 200$/m);
    expect(result.stdout).toMatch(/^FAIL {2}readyz: 503 .*"warehouse":\{"database":"(?!ok)/m);
    // The discovery documents still answer: only the database fails.
    expect(result.stdout).toMatch(/^OK {4}warehouse: protected resource metadata$/m);
    expect(result.stdout).toMatch(/^sqlbridge CRITICAL: 1 check\(s\) failed/m);
  }, 60_000);
});

describe('behind nginx with a certificate valid for one day', () => {
  let deployment: Deployment;
  let ca: string;

  beforeAll(async () => {
    const database = await createPostgresDatabase('CREATE TABLE t (id integer PRIMARY KEY)');
    cleanups.push(database.drop);
    deployment = await deployBehindNginx('shared', database.name);
    cleanups.push(() => deployment.stop());
    ca = join(emptyDir('health-check-ca-'), 'ca.pem');
    writeFileSync(ca, deployment.ca);
  }, 90_000);

  it('a threshold the certificate outlives: exit 0, its expiry named', async () => {
    const result = await healthCheck([deployment.publicOrigin, '--ca', ca, '--days', '0']);
    expect(result.code, result.stdout).toBe(0);
    expect(result.stdout).toMatch(/^OK {4}demo: authorization server metadata$/m);
    expect(result.stdout).toMatch(/^OK {4}production: protected resource metadata$/m);
    expect(result.stdout).toMatch(/^OK {4}certificate: valid until .+ GMT \(more than 0 days\)$/m);
  });

  it('a certificate expiring within --days: exit 1, though everything else is healthy', async () => {
    const result = await healthCheck([deployment.publicOrigin, '--ca', ca, '--days', '2']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^FAIL {2}certificate: expires .+ GMT, within 2 days$/m);
    expect(result.stdout).toMatch(/^sqlbridge CRITICAL: 1 check\(s\) failed/m);
  });

  it('a certificate no trusted CA signed: exit 1; --insecure still checks its expiry', async () => {
    const untrusted = await healthCheck([deployment.publicOrigin, '--days', '0']);
    expect(untrusted.code).toBe(1);
    expect(untrusted.stdout).toMatch(/^FAIL {2}certificate: no trusted certificate from localhost:\d+$/m);
    const insecure = await healthCheck([deployment.publicOrigin, '--insecure', '--days', '30']);
    expect(insecure.code).toBe(1);
    expect(insecure.stdout).toMatch(/^OK {4}readyz: 200$/m);
    expect(insecure.stdout).toMatch(/^FAIL {2}certificate: expires .+, within 30 days$/m);
  });
});

describe('usage', () => {
  it.each([
    [[], 'the server URL is required'],
    [['http://127.0.0.1:8008', '--days', 'soon'], '--days must be a whole number of days, not soon'],
    [['http://127.0.0.1:8008/demo/mcp'], 'URL must be http(s)://host[:port] without a path'],
    [['http://127.0.0.1:8008', '--env', '../x'], '--env ../x is not an environment name'],
    [['http://127.0.0.1:8008', '--verbose'], 'unknown option --verbose']
  ])('%j: exit 2 and what is wrong', async (args, message) => {
    const result = await healthCheck(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`health-check.sh: ${message}`);
    expect(result.stderr).toContain('Usage: health-check.sh URL');
    expect(result.stdout).toBe('');
  });
});
