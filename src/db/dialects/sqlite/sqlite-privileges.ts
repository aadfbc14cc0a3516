import type { PrivilegeProbe, PrivilegeReport } from '../../privileges.ts';

/** SQLite has no logins: a read-only environment opens its files read-only, which is the whole check. */
export class SqlitePrivilegeProbe implements PrivilegeProbe {
  private readonly readOnly: boolean;

  constructor(readOnly: boolean) {
    this.readOnly = readOnly;
  }

  async check(): Promise<PrivilegeReport> {
    return {
      login: '',
      canWrite: !this.readOnly,
      findings: this.readOnly ? [] : ['the database file is opened for writing'],
      notes: this.readOnly ? ['the database file is opened read-only, with PRAGMA query_only and an authorizer'] : []
    };
  }
}
