import {
  type AuditFilter,
  EVENT_GROUPS,
  isOutcome,
  matchesFilter,
  parseEventFilter,
  parseTimeBound
} from '../../audit/filter.ts';
import { TrailReader, type StoredRecord } from '../../audit/reader.ts';
import { AUDIT_OUTCOMES } from '../../audit/record.ts';
import { RecordTable, terminalSafeJson } from '../../audit/record-table.ts';
import { auditFilePath } from '../../audit/trail-files.ts';
import type { LoadedConfig } from '../../config/load.ts';
import { UsageError, type AuditFlags } from '../args.ts';
import type { CliIo } from '../io.ts';
import { untilSignal } from './signals.ts';

/**
 * `sqlbridge audit`: the JSON Lines trail in the data directory, filtered, as a table or (`--json`)
 * as the stored lines themselves; `--limit N` keeps the last N; `--follow` then prints what is
 * appended until SIGINT or SIGTERM. It reads the files only, so it works while the server runs
 * and after it is gone.
 */

/** Lines handed to the output at once: one write per line is slow for a large trail. */
const PRINT_BATCH = 500;

export async function auditCommand(
  loaded: LoadedConfig,
  flags: AuditFlags,
  environment: string | undefined,
  io: CliIo
): Promise<number> {
  const filter = auditFilter(flags, environment, Date.now());
  const limit = flags.limit === undefined ? undefined : positiveInteger('--limit', flags.limit);
  const path = auditFilePath(loaded.config);
  const reader = new TrailReader(path);
  if (!(await reader.exists())) {
    const disabled = loaded.config.audit.file.enabled
      ? ''
      : ' (the audit file is disabled: audit.file.enabled is false)';
    io.err(`sqlbridge: there is no audit trail at ${path}${disabled}`);
    return 1;
  }
  // Listening before anything is printed: a signal sent once the first lines are seen must stop it cleanly.
  const stop = new AbortController();
  if (flags.follow) void untilSignal().then(() => stop.abort());
  const format = (stored: StoredRecord, table: RecordTable | undefined): string =>
    table === undefined ? terminalSafeJson(stored.line) : table.row(stored.record);
  try {
    // Without a limit, JSON lines go out as they are read; a table waits to know its column widths.
    const streaming = flags.json && limit === undefined;
    const kept: StoredRecord[] = [];
    let pending: string[] = [];
    let matched = 0;
    for await (const stored of reader.records()) {
      if (!matchesFilter(stored.record, filter)) continue;
      matched++;
      if (streaming) {
        pending.push(terminalSafeJson(stored.line));
        if (pending.length >= PRINT_BATCH) {
          io.out(pending.join('\n'));
          pending = [];
        }
        continue;
      }
      kept.push(stored);
      // The last `limit` matches, without holding every match meanwhile.
      if (limit !== undefined && kept.length >= 2 * limit) kept.splice(0, kept.length - limit);
    }
    if (pending.length > 0) io.out(pending.join('\n'));
    const shown = limit === undefined ? kept : kept.slice(-limit);
    const table = flags.json
      ? undefined
      : flags.follow
        ? RecordTable.full()
        : RecordTable.fitting(shown.map(stored => stored.record));
    if (table !== undefined && (shown.length > 0 || flags.follow)) io.out(table.header());
    for (let start = 0; start < shown.length; start += PRINT_BATCH) {
      io.out(
        shown
          .slice(start, start + PRINT_BATCH)
          .map(stored => format(stored, table))
          .join('\n')
      );
    }
    if (reader.damaged > 0) io.err(`sqlbridge: skipped ${reader.damaged} damaged line(s) in the audit trail`);
    if (!flags.follow) {
      if (matched === 0) io.err(`sqlbridge: no audit record matches (read ${path} and its rotated files)`);
      return 0;
    }
    for await (const stored of reader.follow(stop.signal)) {
      if (matchesFilter(stored.record, filter)) io.out(format(stored, table));
    }
    return 0;
  } finally {
    await reader.close();
  }
}

function auditFilter(flags: AuditFlags, environment: string | undefined, now: number): AuditFilter {
  const filter: AuditFilter = {
    user: text('--user', flags.user),
    clientId: text('--client', flags.client),
    environment: text('--env', environment),
    search: text('--search', flags.search)
  };
  if (flags.since !== undefined) filter.since = time('--since', flags.since, now);
  if (flags.until !== undefined) filter.until = time('--until', flags.until, now);
  if (filter.since !== undefined && filter.until !== undefined && filter.since > filter.until) {
    throw new UsageError('--since is later than --until');
  }
  if (flags.outcome !== undefined) {
    if (!isOutcome(flags.outcome)) {
      throw new UsageError(
        `--outcome must be one of ${AUDIT_OUTCOMES.join(', ')} (got ${JSON.stringify(flags.outcome)})`
      );
    }
    filter.outcome = flags.outcome;
  }
  if (flags.event !== undefined) {
    filter.event = parseEventFilter(flags.event);
    if (filter.event === undefined) {
      const groups = EVENT_GROUPS.map(group => `${group}.`).join(', ');
      throw new UsageError(
        `--event must be an event name (see docs/audit.md) or a group: ${groups} (got ${JSON.stringify(flags.event)})`
      );
    }
  }
  return filter;
}

function text(flag: string, value: string | undefined): string | undefined {
  if (value !== undefined && value.trim() === '') throw new UsageError(`${flag} needs a value`);
  return value;
}

function time(flag: string, value: string, now: number): number {
  const parsed = parseTimeBound(value, now);
  if (parsed === undefined) {
    throw new UsageError(
      `${flag} must be an ISO date or time (2025-01-31, 2025-01-31T08:00Z) or a span ago (15m, 2h, 7d); got ${JSON.stringify(value)}`
    );
  }
  return parsed;
}

function positiveInteger(flag: string, value: string): number {
  if (!/^\d{1,9}$/.test(value) || Number(value) === 0) {
    throw new UsageError(`${flag} must be a whole number of at least 1 (got ${JSON.stringify(value)})`);
  }
  return Number(value);
}
