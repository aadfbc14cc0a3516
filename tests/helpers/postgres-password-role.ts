import { readFileSync, writeFileSync } from 'node:fs';
import pg from 'pg';
import { pgAdmin, POSTGRES } from '../dialects/engines/postgres.ts';
import { waitFor } from './services.ts';

/**
 * A PostgreSQL login role that has to present its password. This machine's cluster trusts every
 * connection from 127.0.0.1 (pg_hba.conf), so a configured password would never be sent; a rule for
 * this one role, put first in pg_hba.conf, asks it for SCRAM instead. The rule names only the role,
 * so nothing else connecting to the cluster changes, and it is removed again by `drop()` (a rule
 * left behind by a killed run names a role that no longer exists).
 */

export interface PasswordRole {
  name: string;
  /** Connects as the role over TCP, to prove the password is required: resolves whether it was let in. */
  canConnect(password: string | undefined, database: string): Promise<boolean>;
  drop(): Promise<void>;
}

const SAFE = /^[A-Za-z0-9_-]+$/;

export async function createPasswordRole(name: string, password: string): Promise<PasswordRole> {
  if (!SAFE.test(name) || !SAFE.test(password)) throw new Error('role names and passwords here are [A-Za-z0-9_-]');
  await pgAdmin('test', client => client.query(`CREATE ROLE ${name} LOGIN NOSUPERUSER PASSWORD '${password}'`));
  const hbaFile = await pgAdmin('test', async client => {
    const result = await client.query<{ hba_file: string }>('SHOW hba_file');
    return result.rows[0]?.hba_file ?? '';
  });
  const rule = `host all ${name} ${POSTGRES.host}/32 scram-sha-256 # sqlbridge test: this role must send its password`;
  const canConnect = async (given: string | undefined, database: string): Promise<boolean> => {
    const client = new pg.Client({
      ...POSTGRES,
      user: name,
      database,
      connectionTimeoutMillis: 5000,
      ...(given === undefined ? {} : { password: given })
    });
    try {
      await client.connect();
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  };
  const reload = (): Promise<unknown> => pgAdmin('test', client => client.query('SELECT pg_reload_conf()'));
  // Written in place (not replaced), so that the file keeps its owner and mode.
  writeFileSync(hbaFile, `${rule}\n${readFileSync(hbaFile, 'utf8')}`);
  await reload();
  // The postmaster reloads on a signal: until it has, the role is still trusted.
  await waitFor(async () => !(await canConnect(undefined, 'test')), 10_000);
  return {
    name,
    canConnect,
    async drop() {
      const lines = readFileSync(hbaFile, 'utf8').split('\n');
      writeFileSync(hbaFile, lines.filter(line => line !== rule).join('\n'));
      await reload();
      await pgAdmin('test', client => client.query(`DROP ROLE IF EXISTS ${name}`));
    }
  };
}
