import type { AuditHealth } from '../audit/trail.ts';
import { ConnectionError, type ConnectionProblem } from '../errors/connection-error.ts';
import { isSqlbridgeError } from '../errors/sqlbridge-error.ts';
import type { Logger } from '../observability/logger.ts';

/**
 * Readiness: whether this process can serve calls right now (every environment's database answers,
 * the OAuth storage answers, the audit trail writes), as a load balancer or Kubernetes asks it before
 * sending traffic. Each check runs concurrently with a deadline. A probe storm costs the databases
 * one ping each: requests that arrive while a check runs share it, and its result answers the
 * requests of the next second as well.
 *
 * The report names only classes of failure, never an error's text: driver messages carry hosts,
 * ports, user names and file paths, and `/readyz` answers anyone who reaches the port.
 */

/**
 * How a check ended: `ok`, `busy` (a database check that timed out behind the environment's own
 * running statements while the database keeps answering them: ready), a ConnectionError's class
 * (`authentication` shown as `auth_failed`), `timeout`, or `error`.
 */
export type CheckOutcome =
  'ok' | 'busy' | 'unreachable' | 'timeout' | 'auth_failed' | 'tls' | 'database_not_found' | 'unavailable' | 'error';

/** The outcomes a ready server's checks may have. */
const READY: ReadonlySet<CheckOutcome> = new Set(['ok', 'busy']);

export interface CheckResult {
  outcome: CheckOutcome;
  /** How long the check took, in whole milliseconds (the deadline, for a timeout). */
  ms: number;
}

export interface ReadinessReport {
  status: 'ready' | 'not_ready';
  environments: Record<string, { database: CheckOutcome; ms: number }>;
  /** Present when OAuth is on. */
  auth?: { storage: CheckOutcome; ms: number };
  audit: { healthy: boolean; sinks: { name: string; healthy: boolean; pending: number; lost: number }[] };
}

export interface ReadinessSources {
  /**
   * Each environment's database: `ping` rejects when it does not answer, with `signal.reason` once the
   * signal aborts; `busy` says, once a ping has timed out, whether that is the pool being full of the
   * environment's own statements on a database that answers them (a pool of 4 running four long
   * queries is loaded, not down: taking the replica out of rotation would move the load, or, with
   * every replica loaded, stop all service).
   */
  databases: readonly { name: string; ping(signal: AbortSignal): Promise<void>; busy?(): boolean }[];
  /** The authorization servers' storage, when OAuth is on. */
  storage?: { ping(): Promise<void> } | undefined;
  /** The audit trail's state (absent: no trail, nothing to report). */
  audit?: { health(): AuditHealth } | undefined;
  /** The deadline of each check. */
  timeoutMs: number;
  /** How long a finished check answers later requests (default 1000 ms). */
  maxAgeMs?: number;
  /** Told when readiness changes (with the classes only). */
  logger?: Logger;
  /** The clock of `maxAgeMs` (tests pin it). */
  now?: () => number;
}

const DEFAULT_MAX_AGE_MS = 1000;

const PROBLEMS: Record<ConnectionProblem, CheckOutcome> = {
  unreachable: 'unreachable',
  authentication: 'auth_failed',
  tls: 'tls',
  database_not_found: 'database_not_found',
  timeout: 'timeout',
  unavailable: 'unavailable'
};

export class ReadinessCheck {
  private readonly sources: ReadinessSources;
  private readonly maxAgeMs: number;
  private readonly now: () => number;
  private running: Promise<ReadinessReport> | undefined;
  private last: { at: number; report: ReadinessReport } | undefined;

  constructor(sources: ReadinessSources) {
    this.sources = sources;
    this.maxAgeMs = sources.maxAgeMs ?? DEFAULT_MAX_AGE_MS;
    this.now = sources.now ?? Date.now;
  }

  /** The report of the check running now, or of one finished less than `maxAgeMs` ago, or of a new one. */
  check(): Promise<ReadinessReport> {
    const last = this.last;
    if (last !== undefined && this.now() - last.at < this.maxAgeMs) return Promise.resolve(last.report);
    this.running ??= this.run().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async run(): Promise<ReadinessReport> {
    const { databases, storage, audit, timeoutMs } = this.sources;
    const [results, storageResult] = await Promise.all([
      Promise.all(
        databases.map(async database => {
          const result = await withDeadline(signal => database.ping(signal), timeoutMs);
          // Timed out waiting, or told by the pool that every connection stayed in use.
          if (result.outcome !== 'timeout' && result.outcome !== 'busy') return result;
          return { ...result, outcome: database.busy?.() === true ? ('busy' as const) : ('timeout' as const) };
        })
      ),
      storage === undefined ? undefined : withDeadline(() => storage.ping(), timeoutMs)
    ]);
    const health = audit?.health() ?? { healthy: true, sinks: [] };
    const environments: ReadinessReport['environments'] = {};
    databases.forEach(({ name }, i) => {
      const result = results[i] ?? { outcome: 'error', ms: 0 };
      environments[name] = { database: result.outcome, ms: result.ms };
    });
    const ready =
      results.every(result => READY.has(result.outcome)) &&
      (storageResult === undefined || storageResult.outcome === 'ok') &&
      health.healthy;
    const report: ReadinessReport = {
      status: ready ? 'ready' : 'not_ready',
      environments,
      ...(storageResult === undefined ? {} : { auth: { storage: storageResult.outcome, ms: storageResult.ms } }),
      audit: {
        healthy: health.healthy,
        // Without the sinks' error texts, which may name paths.
        sinks: health.sinks.map(({ name, healthy, pending, lost }) => ({ name, healthy, pending, lost }))
      }
    };
    this.reportChange(report);
    this.last = { at: this.now(), report };
    return report;
  }

  /** One log line when readiness changes, not one per probe. */
  private reportChange(report: ReadinessReport): void {
    const logger = this.sources.logger;
    const before = this.last?.report.status;
    if (logger === undefined || report.status === before) return;
    if (report.status === 'ready') {
      if (before !== undefined) logger.info('ready: every database, the OAuth storage and the audit trail answer');
      return;
    }
    const failing = Object.entries(report.environments)
      .filter(([, { database }]) => !READY.has(database))
      .map(([environment, { database }]) => ({ environment, database }));
    logger.warn(
      { databases: failing, authStorage: report.auth?.storage, auditHealthy: report.audit.healthy },
      'not ready: /readyz answers 503 until every check passes'
    );
  }
}

/**
 * Runs one check with a deadline: `timeout` once it passes (the check's signal aborts then, so that it
 * stops what it started), otherwise `ok` or the class of its failure.
 */
export async function withDeadline(
  check: (signal: AbortSignal) => Promise<void>,
  timeoutMs: number
): Promise<CheckResult> {
  const started = performance.now();
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<CheckOutcome>(resolve => {
    timer = setTimeout(() => {
      // Settled before the abort, so the failure the abort causes in the check cannot win the race.
      resolve('timeout');
      controller.abort(new DOMException('the readiness check took too long', 'TimeoutError'));
    }, timeoutMs);
  });
  // A check that throws instead of rejecting fails the same way.
  const attempt = Promise.resolve().then(() => check(controller.signal));
  const outcome = await Promise.race([attempt.then(() => 'ok' as const, classify), deadline]);
  clearTimeout(timer);
  return { outcome, ms: Math.round(performance.now() - started) };
}

/** The class of a failure, never its text. */
export function classify(error: unknown): CheckOutcome {
  if (error instanceof ConnectionError) return PROBLEMS[error.problem];
  if (isSqlbridgeError(error) && error.code === 'database_busy') return 'busy';
  return 'error';
}
