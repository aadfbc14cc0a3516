import { execFile } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { emptyDir } from '../helpers/data-dir.ts';
import { PROJECT_ROOT } from '../helpers/server-process.ts';

/**
 * scripts/setup-letsencrypt.sh without Let's Encrypt (no internet here): what it checks of its
 * arguments, the exact certbot command and renewal files it prints with --print, and a run with a
 * stand-in certbot that records its arguments, so that the command run is the command printed.
 * Exit codes: 0 done, 1 a step failed, 2 usage.
 */

const SCRIPT = join(PROJECT_ROOT, 'scripts', 'setup-letsencrypt.sh');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function setup(args: string[]): Promise<Run> {
  return new Promise(resolve => {
    execFile(SCRIPT, args, { timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
    });
  });
}

/** A certbot stand-in: writes each argument on a line of `record`, exits with `code`. */
function fakeCertbot(code: number): { command: string; record: string } {
  const dir = emptyDir('certbot-');
  const record = join(dir, 'arguments');
  const command = join(dir, 'certbot');
  writeFileSync(command, `#!/bin/sh\nprintf '%s\\n' "$@" > '${record}'\nexit ${code}\n`);
  chmodSync(command, 0o755);
  return { command, record };
}

const CERTBOT_ARGUMENTS = (webroot: string, reload: string): string[] => [
  'certonly',
  '--webroot',
  '-w',
  webroot,
  '-d',
  'data.example.com',
  '-d',
  'mcp.example.com',
  '--cert-name',
  'data.example.com',
  '--email',
  'ops@example.com',
  '--agree-tos',
  '--no-eff-email',
  '--non-interactive',
  '--keep-until-expiring',
  '--key-type',
  'ecdsa',
  '--elliptic-curve',
  'secp256r1',
  '--deploy-hook',
  reload
];
const NAMES = ['--domain', 'data.example.com', '--domain', 'mcp.example.com', '--email', 'ops@example.com'];

describe('--print: the commands and files, nothing run', () => {
  it('webroot issuance as deploy/nginx serves it, and a cron renewal twice a day', async () => {
    const result = await setup([...NAMES, '--print']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.split('\n')).toEqual([
      'mkdir -p /var/www/certbot/.well-known/acme-challenge',
      `certbot ${CERTBOT_ARGUMENTS('/var/www/certbot', 'nginx\\ -s\\ reload').join(' ')}`,
      '# write /etc/cron.d/sqlbridge-certbot:',
      "# Renews sqlbridge's Let's Encrypt certificate (setup-letsencrypt.sh); the reload command is kept by certbot.",
      'SHELL=/bin/sh',
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      '17 3,15 * * * root certbot renew --quiet',
      ''
    ]);
  });

  it('--staging asks certbot for a test certificate; --key-type rsa, 4096 bits; a systemd timer', async () => {
    const result = await setup([...NAMES, '--staging', '--key-type', 'rsa', '--renewal', 'systemd', '--print']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(
      '--key-type rsa --rsa-key-size 4096 --deploy-hook nginx\\ -s\\ reload --test-cert\n'
    );
    expect(result.stdout).toContain('# write /etc/systemd/system/sqlbridge-certbot.timer:\n');
    expect(result.stdout).toContain('OnCalendar=*-*-* 03,15:17:00\n');
    expect(result.stdout).toContain('ExecStart=certbot renew --quiet\n');
    expect(result.stdout).toMatch(/\nsystemctl enable --now sqlbridge-certbot\.timer\n$/);
  });
});

describe('a run with a stand-in certbot', () => {
  it('creates the challenge directory and runs certbot with exactly the printed arguments', async () => {
    const certbot = fakeCertbot(0);
    const webroot = join(emptyDir('webroot-'), 'certbot');
    const reload = 'docker compose exec nginx nginx -s reload';
    const args = [...NAMES, '--webroot', webroot, '--reload-command', reload, '--renewal', 'none', '--no-probe'];
    const result = await setup([...args, '--certbot', certbot.command]);
    expect(result.code, result.stderr).toBe(0);
    expect(statSync(join(webroot, '.well-known', 'acme-challenge')).isDirectory()).toBe(true);
    expect(readFileSync(certbot.record, 'utf8').split('\n').slice(0, -1)).toEqual(CERTBOT_ARGUMENTS(webroot, reload));
    expect(result.stdout).toBe('Certificate: /etc/letsencrypt/live/data.example.com/fullchain.pem and privkey.pem\n');
    expect(result.stderr).toContain('renew --quiet" twice a day');
  });

  it('certbot failing: exit 1, pointing at its log', async () => {
    const certbot = fakeCertbot(1);
    const webroot = emptyDir('webroot-');
    const result = await setup([
      ...NAMES,
      '--webroot',
      webroot,
      '--renewal',
      'none',
      '--no-probe',
      '--certbot',
      certbot.command
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'certbot could not obtain the certificate (its log: /var/log/letsencrypt/letsencrypt.log)'
    );
  });

  it('a name whose challenge path does not reach the webroot: exit 1 before certbot runs', async () => {
    const certbot = fakeCertbot(0);
    const webroot = emptyDir('webroot-');
    const result = await setup([
      '--domain',
      'sqlbridge-probe.invalid',
      '--email',
      'ops@example.com',
      '--webroot',
      webroot,
      '--renewal',
      'none',
      '--certbot',
      certbot.command
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('http://sqlbridge-probe.invalid/.well-known/acme-challenge/ does not serve');
    expect(existsSync(certbot.record)).toBe(false);
  });

  it('certbot not installed: exit 1, saying so', async () => {
    const result = await setup([...NAMES, '--certbot', '/nonexistent/certbot', '--no-probe']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('/nonexistent/certbot is not installed');
  });
});

describe('usage', () => {
  const email = ['--email', 'ops@example.com'];
  it.each([
    [email, '--domain is required'],
    [['--domain', '*.example.com', ...email], '--domain *.example.com is not a public host name'],
    [['--domain', '203.0.113.7', ...email], '--domain 203.0.113.7 is not a public host name'],
    [['--domain', 'https://data.example.com', ...email], 'is not a public host name'],
    [['--domain', 'data.example.com'], '--email is required'],
    [['--domain', 'data.example.com', '--email', 'ops'], '--email ops is not an e-mail address'],
    [['--domain', 'data.example.com', ...email, '--webroot', 'www'], '--webroot must be an absolute path'],
    [['--domain', 'data.example.com', ...email, '--key-type', 'dsa'], '--key-type must be ecdsa or rsa'],
    [['--domain', 'data.example.com', ...email, '--renewal', 'weekly'], '--renewal must be cron, systemd or none'],
    [['--domain', 'data.example.com', ...email, '--force'], 'unknown argument --force'],
    [['--domain'], '--domain needs a value']
  ])('%j: exit 2 and what is wrong', async (args, message) => {
    const result = await setup([...args, '--print']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stderr).toContain('Usage: setup-letsencrypt.sh --domain NAME --email ADDRESS');
    expect(result.stdout).toBe('');
  });
});
