import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { AuditRecord } from '../../src/audit/record.ts';
import type { RunningServer } from './server-process.ts';
import { until } from './shutdown.ts';

/**
 * The audit trail as an auditor meets it: the JSON Lines file the server wrote, and the server's
 * own report of its sinks on `/healthz`. Also a real obstacle for the file sink, so that its failure
 * is the file system's and not a test double's.
 */

/** The default file of the trail in a data directory (`audit.file.path`). */
export const auditFileIn = (dataDir: string): string => `${dataDir}/audit/audit.jsonl`;

/** Every record of the file, in the order written; none when the file does not exist yet. */
export function readAuditFile(path: string): AuditRecord[] {
  const records = completeRecords(path);
  if (records === undefined) throw new Error(`${path} ends in a torn line`);
  return records;
}

/** The records, or undefined when the file ends in a torn line (read while a batch was being appended). */
function completeRecords(path: string): AuditRecord[] | undefined {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8');
  if (text !== '' && !text.endsWith('\n')) return undefined;
  return text
    .split('\n')
    .filter(line => line !== '')
    .map(line => JSON.parse(line) as AuditRecord);
}

export const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** Waits (bounded) until the file holds what `check` looks for, and returns its records then. */
export async function untilAuditFile(
  path: string,
  check: (records: AuditRecord[]) => boolean,
  timeoutMs = 5000
): Promise<AuditRecord[]> {
  let records: AuditRecord[] = [];
  // A read that meets a batch being appended is read again: the server is still writing.
  const found = await until(() => {
    const read = completeRecords(path);
    if (read === undefined) return false;
    records = read;
    return check(records);
  }, timeoutMs);
  if (!found) throw new Error(`the audit file never held what was expected within ${timeoutMs} ms`);
  return records;
}

export interface AuditHealthReport {
  healthy: boolean;
  sinks: { name: string; healthy: boolean; pending: number; lost: number }[];
}

/** The `audit` part of `/healthz`. */
export async function auditHealth(server: RunningServer): Promise<AuditHealthReport> {
  const response = await fetch(`${server.baseUrl}/healthz`);
  if (response.status !== 200) throw new Error(`/healthz answered ${response.status}`);
  return ((await response.json()) as { audit: AuditHealthReport }).audit;
}

/** Polls `/healthz` (bounded) until `check` holds, and returns the report that satisfied it. */
export async function untilAuditHealth(
  server: RunningServer,
  check: (report: AuditHealthReport) => boolean,
  timeoutMs: number
): Promise<AuditHealthReport> {
  let report: AuditHealthReport | undefined;
  const found = await until(async () => check((report = await auditHealth(server))), timeoutMs);
  if (!found || report === undefined) {
    throw new Error(`/healthz never reported what was expected within ${timeoutMs} ms: ${JSON.stringify(report)}`);
  }
  return report;
}

/**
 * Makes the audit file unwritable for real: its directory is moved aside and a regular file takes
 * its name. The file sink opens the file for every batch and creates a missing directory, so a
 * deleted directory would simply come back; a file in the way fails the open with ENOTDIR (and
 * permissions would not, the tests run as root). `restore` puts the directory back, records and all.
 */
export function obstructAuditFile(auditFile: string): { restore: () => void } {
  const directory = dirname(auditFile);
  const aside = `${directory}.aside`;
  renameSync(directory, aside);
  writeFileSync(directory, 'not a directory\n');
  let restored = false;
  return {
    restore() {
      if (restored) return;
      restored = true;
      rmSync(directory, { force: true });
      renameSync(aside, directory);
    }
  };
}
