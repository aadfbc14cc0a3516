import { textOf } from '../../catalog-values.ts';
import type { CatalogReader } from '../../introspector.ts';
import { summarize, type PrivilegeProbe, type PrivilegeReport } from '../../privileges.ts';

/**
 * What the MySQL/MariaDB login may change, read from SHOW GRANTS (and the grants of the roles it
 * holds). Every privilege outside a short list of reading ones counts: PROCESS too, which shows every
 * session's running statement (other callers', literals included).
 * https://dev.mysql.com/doc/refman/8.4/en/privileges-provided.html, https://mariadb.com/kb/en/grant/
 */

const READING = new Set([
  'SELECT',
  'SHOW VIEW',
  'USAGE',
  'SHOW DATABASES',
  'REPLICATION CLIENT',
  'BINLOG MONITOR',
  'SLAVE MONITOR',
  'REPLICA MONITOR',
  'SHOW CREATE ROUTINE'
]);

export interface ParsedGrant {
  privileges: string[];
  /** `*.*`, `` `db`.* ``, `` `db`.`table` ``, or undefined for a role membership. */
  scope: string | undefined;
  /** Roles granted (GRANT `role` TO user). */
  roles: string[];
  grantOption: boolean;
}

/** One line of SHOW GRANTS. */
export function parseGrant(line: string): ParsedGrant | undefined {
  const onMatch = /^GRANT\s+(.+?)\s+ON\s+(?:(?:TABLE|FUNCTION|PROCEDURE|PACKAGE(?:\s+BODY)?)\s+)?(\S+)\s+TO\s/i.exec(
    line
  );
  const grantOption = /\bWITH\b.*\bGRANT OPTION\b/i.test(line);
  if (onMatch !== null) {
    const list = (onMatch[1] ?? '').replace(/\([^)]*\)/g, '');
    const privileges = list
      .split(',')
      .map(p => p.trim().toUpperCase().replace(/\s+/g, ' '))
      .filter(p => p !== '');
    return { privileges, scope: onMatch[2], roles: [], grantOption };
  }
  const roleMatch = /^GRANT\s+(.+?)\s+TO\s/i.exec(line);
  if (roleMatch === null) return undefined;
  const roles = (roleMatch[1] ?? '')
    .split(',')
    .map(r => r.trim())
    .filter(r => r !== '');
  return { privileges: [], scope: undefined, roles, grantOption };
}

/** The privileges in grant lines that allow more than reading, as "PRIVILEGE on scope". */
export function writingGrants(lines: readonly string[]): { writes: string[]; roles: string[] } {
  const writes: string[] = [];
  const roles: string[] = [];
  for (const line of lines) {
    const grant = parseGrant(line);
    if (grant === undefined) continue;
    roles.push(...grant.roles);
    for (const privilege of grant.privileges) {
      if (!READING.has(privilege)) writes.push(`${privilege} on ${grant.scope ?? '?'}`);
    }
    if (grant.grantOption && grant.scope !== undefined) writes.push(`GRANT OPTION on ${grant.scope}`);
  }
  return { writes, roles };
}

export class MysqlPrivilegeProbe implements PrivilegeProbe {
  private readonly catalog: CatalogReader;

  constructor(catalog: CatalogReader) {
    this.catalog = catalog;
  }

  async check(): Promise<PrivilegeReport> {
    const [who] = await this.catalog('SELECT CURRENT_USER() AS login, @@global.read_only AS read_only');
    const lines = await this.grantLines('SHOW GRANTS');
    const { writes, roles } = writingGrants(lines);
    const seen = new Set<string>();
    for (let i = 0; i < roles.length; i++) {
      const role = roles[i] ?? '';
      if (seen.has(role) || seen.size >= 20) continue;
      seen.add(role);
      const nested = writingGrants(await this.grantLines(`SHOW GRANTS FOR ${role}`).catch(() => []));
      writes.push(...nested.writes.map(w => `${w} (through role ${role})`));
      roles.push(...nested.roles);
    }
    const notes: string[] = [];
    if (Number(who?.['read_only'] ?? 0) === 1) {
      notes.push('the server is read_only (users with SUPER or READ ONLY ADMIN can still write)');
    }
    const findings = summarize('privileges beyond reading', writes, 8);
    return { login: textOf(who?.['login']), canWrite: writes.length > 0, findings, notes };
  }

  private async grantLines(sql: string): Promise<string[]> {
    return (await this.catalog(sql)).map(row => textOf(Object.values(row)[0]));
  }
}
