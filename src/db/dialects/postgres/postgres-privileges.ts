import { textOf } from '../../catalog-values.ts';
import type { CatalogReader } from '../../introspector.ts';
import { summarize, type PrivilegeProbe, type PrivilegeReport } from '../../privileges.ts';

/**
 * What the PostgreSQL login may change: superuser and role attributes, predefined roles that write
 * or reach files, write privileges on tables and sequences, CREATE on schemas or the database.
 * https://www.postgresql.org/docs/current/functions-info.html#FUNCTIONS-INFO-ACCESS
 */

const USER_SCHEMAS = "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'";

const LOGIN = `
SELECT current_user AS login, r.rolsuper AS superuser, r.rolcreaterole AS create_role, r.rolcreatedb AS create_db,
       r.rolbypassrls AS bypass_rls, has_database_privilege(current_database(), 'CREATE') AS create_schema,
       current_setting('default_transaction_read_only') AS default_read_only, pg_is_in_recovery() AS standby
  FROM pg_roles r
 WHERE r.rolname = current_user`;

const PREDEFINED_ROLES = `
SELECT rolname AS role
  FROM pg_roles
 WHERE rolname IN ('pg_write_all_data', 'pg_write_server_files', 'pg_execute_server_program', 'pg_read_server_files',
                   'pg_signal_backend', 'pg_checkpoint')
   AND pg_has_role(current_user, oid, 'MEMBER')
 ORDER BY 1`;

const TABLES = `
SELECT n.nspname AS schema_name, c.relname AS table_name, string_agg(p.privilege, '/' ORDER BY p.privilege) AS privileges
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 CROSS JOIN (VALUES ('INSERT'), ('UPDATE'), ('DELETE'), ('TRUNCATE')) AS p(privilege)
 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND ${USER_SCHEMAS} AND has_table_privilege(c.oid, p.privilege)
 GROUP BY 1, 2
 ORDER BY 1, 2`;

const SEQUENCES = `
SELECT n.nspname AS schema_name, c.relname AS sequence_name
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind = 'S' AND ${USER_SCHEMAS} AND (has_sequence_privilege(c.oid, 'USAGE') OR has_sequence_privilege(c.oid, 'UPDATE'))
 ORDER BY 1, 2`;

/**
 * Roles whose privileges the login holds without switching to them (it INHERITs them): with database
 * roles per user (`access`), the login should be NOINHERIT so that it holds none of them outside a
 * caller's role. Asked of the login only, not of a role a check switched to.
 */
const INHERITED_ROLES = `
SELECT m.roleid::regrole::text AS role
  FROM pg_auth_members m
  JOIN pg_roles r ON r.oid = m.member
 WHERE r.rolname = session_user AND r.rolinherit AND current_user = session_user
 ORDER BY 1`;

const SCHEMAS = `
SELECT n.nspname AS schema_name FROM pg_namespace n WHERE ${USER_SCHEMAS} AND has_schema_privilege(n.oid, 'CREATE') ORDER BY 1`;

export class PostgresPrivilegeProbe implements PrivilegeProbe {
  private readonly catalog: CatalogReader;

  constructor(catalog: CatalogReader) {
    this.catalog = catalog;
  }

  async check(): Promise<PrivilegeReport> {
    const [login] = await this.catalog(LOGIN);
    const roles = (await this.catalog(PREDEFINED_ROLES)).map(row => textOf(row['role']));
    const tables = (await this.catalog(TABLES)).map(
      row => `${textOf(row['schema_name'])}.${textOf(row['table_name'])} (${textOf(row['privileges'])})`
    );
    const sequences = (await this.catalog(SEQUENCES)).map(
      row => `${textOf(row['schema_name'])}.${textOf(row['sequence_name'])}`
    );
    const schemas = (await this.catalog(SCHEMAS)).map(row => textOf(row['schema_name']));
    const inherited = (await this.catalog(INHERITED_ROLES)).map(row => textOf(row['role']));
    const findings: string[] = [];
    if (login?.['superuser'] === true) findings.push('the login is a superuser');
    if (login?.['create_role'] === true) findings.push('the login may create roles (CREATEROLE)');
    if (login?.['create_db'] === true) findings.push('the login may create databases (CREATEDB)');
    if (login?.['bypass_rls'] === true) findings.push('the login bypasses row-level security (BYPASSRLS)');
    if (login?.['create_schema'] === true) findings.push('the login may create schemas in this database');
    findings.push(
      ...summarize('member of', roles),
      ...summarize('may write tables', tables),
      ...summarize('may advance sequences', sequences),
      ...summarize('may create objects in schemas', schemas)
    );
    const notes: string[] = [];
    if (textOf(login?.['default_read_only']) === 'on') {
      notes.push('default_transaction_read_only is on for this login (a session can still turn it off)');
    }
    if (inherited.length > 0) {
      notes.push(
        `the login inherits the privileges of ${summarize('its roles', inherited).join('')}; for database roles per user (access), make it NOINHERIT (ALTER ROLE … NOINHERIT) so that it holds them only as a caller's role`
      );
    }
    const standby = login?.['standby'] === true;
    if (standby) notes.push('the server is a standby in recovery: nothing can be written there');
    return { login: textOf(login?.['login']), canWrite: !standby && findings.length > 0, findings, notes };
  }
}
