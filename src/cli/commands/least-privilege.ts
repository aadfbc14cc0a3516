import type { App } from '../../app.ts';
import type { TableSummary } from '../../db/introspector.ts';
import type { PrivilegeReport } from '../../db/privileges.ts';
import { isSqlbridgeError } from '../../errors/sqlbridge-error.ts';
import type { Logger } from '../../observability/logger.ts';

/**
 * The least-privilege check at start-up: a read-only environment whose database login could write
 * is reported loudly, and with `requireLeastPrivilege: true` sqlbridge refuses to start.
 */

export interface PrivilegeVerdict {
  environment: string;
  /** A database role of the environment's `access` setting; absent for the login itself. */
  role?: string;
  required: boolean;
  report?: PrivilegeReport;
  error?: unknown;
}

/** Checks every read-only environment; environments that failed to connect are reported as unchecked. */
export async function checkPrivileges(app: App, unreachable: ReadonlySet<string>): Promise<PrivilegeVerdict[]> {
  const verdicts: PrivilegeVerdict[] = [];
  for (const environment of app.environments) {
    if (!environment.config.readOnly) continue;
    const verdict: PrivilegeVerdict = {
      environment: environment.name,
      required: environment.config.requireLeastPrivilege
    };
    if (unreachable.has(environment.name)) {
      verdict.error = new Error('the database could not be reached');
    } else {
      try {
        verdict.report = await environment.db.privileges();
      } catch (error) {
        verdict.error = error;
      }
    }
    verdicts.push(verdict);
    // Each role callers are switched to is a way to write for them, so it is checked the same way.
    for (const role of unreachable.has(environment.name) ? [] : environment.db.mappedRoles()) {
      const roleVerdict: PrivilegeVerdict = { ...verdict, role };
      delete roleVerdict.report;
      delete roleVerdict.error;
      try {
        roleVerdict.report = await environment.db.privileges(role);
      } catch (error) {
        roleVerdict.error = error;
      }
      verdicts.push(roleVerdict);
    }
  }
  return verdicts;
}

export function describePrivileges(report: PrivilegeReport): string {
  const notes = report.notes.length > 0 ? ` (${report.notes.join('; ')})` : '';
  const who = report.login === '' ? 'the connection' : `the login ${report.login}`;
  if (!report.canWrite) return `${who} can only read${notes}`;
  return `${who} could write: ${report.findings.join('; ')}${notes}`;
}

/** Whether a database role of the environment's `access` setting could write, as `describePrivileges` says it of a login. */
export function describeRolePrivileges(role: string, report: PrivilegeReport): string {
  const notes = report.notes.length > 0 ? ` (${report.notes.join('; ')})` : '';
  if (!report.canWrite) return `the role ${role} can only read${notes}`;
  return `the role ${role} could write: ${report.findings.join('; ')}${notes}`;
}

/** What a database role of the environment's `access` setting may read, and whether it could write. */
export function describeRole(role: string, tables: readonly TableSummary[], report: PrivilegeReport): string {
  const views = tables.filter(t => t.type === 'view').length;
  const reads = `role ${role} reads ${tables.length - views} tables and ${views} views`;
  const notes = report.notes.length > 0 ? ` (${report.notes.join('; ')})` : '';
  if (!report.canWrite) return `${reads}, and can only read${notes}`;
  return `${reads}, and could write: ${report.findings.join('; ')}${notes}`;
}

/**
 * Logs what the check found. Returns why sqlbridge must not start, when an environment requires
 * least privilege and its login could write or could not be checked.
 */
export function enforceLeastPrivilege(verdicts: readonly PrivilegeVerdict[], logger: Logger): string | undefined {
  const refusals: string[] = [];
  for (const verdict of verdicts) {
    const { environment, report, error, role } = verdict;
    if (report === undefined) {
      const of = role === undefined ? '' : ` of role ${role}`;
      const message = `environment "${environment}": the least-privilege check${of} could not run`;
      if (verdict.required) refusals.push(`${message} (requireLeastPrivilege is set)`);
      else logger.warn({ environment, ...failureFields(error) }, message);
      continue;
    }
    const described = role === undefined ? describePrivileges(report) : describeRolePrivileges(role, report);
    if (!report.canWrite) {
      logger.info(
        { environment, login: report.login, notes: report.notes, ...(role === undefined ? {} : { role }) },
        `environment "${environment}": ${described}`
      );
      continue;
    }
    const message = `environment "${environment}" is read-only, but ${described}`;
    if (verdict.required) {
      refusals.push(message);
    } else {
      logger.warn(
        {
          environment,
          login: report.login,
          findings: report.findings,
          notes: report.notes,
          ...(role === undefined ? {} : { role })
        },
        `${message}. sqlbridge's statement guard and read-only transactions still stop writes; give this environment a login that can only read (see docs/least-privilege/), or set requireLeastPrivilege: true to refuse to start like this`
      );
    }
  }
  if (refusals.length === 0) return undefined;
  return `sqlbridge will not start: ${refusals.join('; ')}. Give these environments a login that can only read (see docs/least-privilege/).`;
}

/** Connects every environment, reports those that cannot connect yet, and runs the least-privilege check. */
export async function connectAndVerify(app: App, logger: Logger): Promise<string | undefined> {
  const failures = await app.connect();
  reportConnectionFailures(failures, logger);
  const verdicts = await checkPrivileges(app, new Set(failures.map(failure => failure.environment)));
  return enforceLeastPrivilege(verdicts, logger);
}

export function reportConnectionFailures(failures: { environment: string; error: unknown }[], logger: Logger): void {
  for (const { environment, error } of failures) {
    const detail = (error as { detail?: unknown }).detail;
    logger.error(
      { environment, err: error, detail },
      `environment "${environment}" cannot reach its database yet; its tools will report the error until it can`
    );
  }
}

/** A failure that is not a bug (a database down, a permission missing): its class and message, without a stack. */
function failureFields(error: unknown): Record<string, unknown> {
  if (isSqlbridgeError(error)) return { errorClass: error.code, error: error.message, detail: error.detail };
  return { error: error instanceof Error ? error.message : String(error) };
}
