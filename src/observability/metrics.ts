import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AuditEventName, AuditRecord } from '../audit/record.ts';
import type { AuditTrail } from '../audit/trail.ts';
import type { PoolStats } from '../db/driver.ts';

/**
 * sqlbridge's Prometheus metrics, in a registry of their own per server (never prom-client's global
 * one: tests build several servers in one process). Calls, queries and OAuth events are counted from
 * the audit trail's records as they are taken, so the metrics and the trail can never disagree about
 * what happened; what is a state rather than an event (pools, open streams, the audit sinks) is read
 * when Prometheus scrapes. Labels hold only bounded values: environment and tool names from the
 * configuration, outcomes, sqlbridge's error codes; never a user, client or statement.
 */

/** Seconds; a tool call ranges from a catalog read (milliseconds) to a statement at its timeout. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** The audit events counted in `sqlbridge_oauth_events_total`, and the `event` label of each. */
export const OAUTH_EVENTS: Partial<Record<AuditEventName, string>> = {
  'auth.login_succeeded': 'login_succeeded',
  'auth.login_failed': 'login_failed',
  'client.registered': 'client_registered',
  'consent.granted': 'consent_granted',
  'consent.denied': 'consent_denied',
  'token.issued': 'token_issued',
  'token.refreshed': 'token_refreshed',
  'token.refresh_reused': 'refresh_reused',
  'token.refused': 'token_refused',
  'token.revoked': 'token_revoked',
  'grant.revoked': 'grant_revoked'
};

/** One refusal by a rate limit: which limit (`tool_call`, `sign_in`, `registration`, …) and where. */
export interface RateLimitRejection {
  limit: string;
  /** The environment whose limit refused, when the limit is per environment. */
  environment?: string;
}

/**
 * What rate-limit code needs of the metrics: one call per refused request. Code that counts refusals
 * depends on this interface only (tests and servers without metrics pass nothing).
 */
export interface RateLimitMetrics {
  rateLimitRejected(rejection: RateLimitRejection): void;
}

/** The open connection-holding things of the HTTP server, counted at scrape time. */
export interface StreamCounts {
  /** Open legacy HTTP+SSE event streams (`/<env>/sse`), all environments. */
  legacySseStreams(): number;
  /** Streamable HTTP sessions of 2025-era clients (`Mcp-Session-Id`), all environments. */
  streamableSessions(): number;
}

export interface MetricsOptions {
  /** Node.js process metrics (CPU, memory, event loop, GC) on the same registry; default true. */
  processMetrics?: boolean;
}

export class Metrics implements RateLimitMetrics {
  readonly registry = new Registry();
  private readonly toolCalls: Counter<'environment' | 'tool' | 'outcome'>;
  private readonly toolDuration: Histogram<'environment' | 'tool'>;
  private readonly rows: Counter<'environment'>;
  private readonly truncations: Counter<'environment'>;
  private readonly statementRejections: Counter<'environment' | 'reason'>;
  private readonly connectionErrors: Counter<'environment'>;
  private readonly oauthEvents: Counter<'environment' | 'event'>;
  private readonly rateLimitRejections: Counter<'environment' | 'limit'>;
  private readonly pools = new Map<string, () => PoolStats | undefined>();
  private streams: StreamCounts | undefined;
  private trail: AuditTrail | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(options: MetricsOptions = {}) {
    const registers = [this.registry];
    this.toolCalls = new Counter({
      name: 'sqlbridge_tool_calls_total',
      help: 'MCP tool calls, by environment, tool and outcome (ok, rejected, failed, cancelled).',
      labelNames: ['environment', 'tool', 'outcome'],
      registers
    });
    this.toolDuration = new Histogram({
      name: 'sqlbridge_tool_call_duration_seconds',
      help: 'How long MCP tool calls took, by environment and tool.',
      labelNames: ['environment', 'tool'],
      buckets: DURATION_BUCKETS,
      registers
    });
    this.rows = new Counter({
      name: 'sqlbridge_query_rows_total',
      help: "Rows returned to callers by their queries, by environment (the server's catalog reads excluded).",
      labelNames: ['environment'],
      registers
    });
    this.truncations = new Counter({
      name: 'sqlbridge_query_truncations_total',
      help: 'Query results cut at the row or size cap, by environment.',
      labelNames: ['environment'],
      registers
    });
    this.statementRejections = new Counter({
      name: 'sqlbridge_statement_rejections_total',
      help: 'Statements refused before they ran (the statement guard, a read-only environment), by environment and reason (the error code).',
      labelNames: ['environment', 'reason'],
      registers
    });
    this.connectionErrors = new Counter({
      name: 'sqlbridge_db_connection_errors_total',
      help: 'Tool calls that failed because the database could not be reached, by environment.',
      labelNames: ['environment'],
      registers
    });
    this.oauthEvents = new Counter({
      name: 'sqlbridge_oauth_events_total',
      help: 'OAuth events of the authorization servers, by environment and event (login_succeeded, login_failed, token_issued, token_refreshed, refresh_reused, client_registered, …).',
      labelNames: ['environment', 'event'],
      registers
    });
    this.rateLimitRejections = new Counter({
      name: 'sqlbridge_rate_limit_rejections_total',
      help: 'Requests refused by a rate limit, by environment (empty when the limit is server-wide) and limit.',
      labelNames: ['environment', 'limit'],
      registers
    });
    this.poolGauge(
      'sqlbridge_db_pool_in_use',
      'Pooled database connections running a statement, by environment.',
      'inUse'
    );
    this.poolGauge(
      'sqlbridge_db_pool_idle',
      'Open pooled database connections waiting for work, by environment.',
      'idle'
    );
    this.poolGauge(
      'sqlbridge_db_pool_waiting',
      'Statements waiting for a pooled connection, by environment.',
      'waiting'
    );
    const streams = (): StreamCounts | undefined => this.streams;
    new Gauge({
      name: 'sqlbridge_legacy_sse_streams',
      help: 'Open legacy HTTP+SSE event streams.',
      registers,
      collect() {
        this.set(streams()?.legacySseStreams() ?? 0);
      }
    });
    new Gauge({
      name: 'sqlbridge_streamable_http_sessions',
      help: 'Open Streamable HTTP sessions of 2025-era clients.',
      registers,
      collect() {
        this.set(streams()?.streamableSessions() ?? 0);
      }
    });
    this.auditGauge('sqlbridge_audit_sink_healthy', 'Whether each audit sink is writing (1) or failing (0).', sink =>
      sink.healthy ? 1 : 0
    );
    this.auditGauge(
      'sqlbridge_audit_records_pending',
      'Audit records waiting to be written, by sink.',
      sink => sink.pending
    );
    this.auditGauge(
      'sqlbridge_audit_records_lost',
      'Audit records dropped since the start because the sink could not keep them, by sink.',
      sink => sink.lost
    );
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** The text format Prometheus scrapes. */
  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  /** Counts from every record the trail takes from now on; its sinks' health is read at each scrape. */
  observeAudit(trail: AuditTrail): void {
    this.unsubscribe?.();
    this.trail = trail;
    this.unsubscribe = trail.onRecord(record => this.count(record));
  }

  /** Reports an environment's pool at each scrape (a source answering undefined reports nothing). */
  observePool(environment: string, stats: () => PoolStats | undefined): void {
    this.pools.set(environment, stats);
  }

  /** Reports the HTTP server's open streams and sessions at each scrape. */
  observeStreams(counts: StreamCounts): void {
    this.streams = counts;
  }

  rateLimitRejected(rejection: RateLimitRejection): void {
    this.rateLimitRejections.inc({ environment: rejection.environment ?? '', limit: rejection.limit });
  }

  /** Stops counting from the trail. */
  close(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  /** What one audit record adds to the counters. */
  count(record: AuditRecord): void {
    const environment = record.environment ?? '';
    switch (record.event) {
      case 'tool.called': {
        const tool = record.tool ?? '';
        this.toolCalls.inc({ environment, tool, outcome: record.outcome });
        if (record.durationMs !== undefined) this.toolDuration.observe({ environment, tool }, record.durationMs / 1000);
        if (record.errorClass === 'connection_failed') this.connectionErrors.inc({ environment });
        // A call refused because its user already runs as many queries as allowed: refused in the
        // tool, not at the HTTP layer, so it is counted from its record. One the tool-call limits
        // refused at the HTTP layer (its record names the limit) was counted there.
        if (record.errorClass === 'rate_limited' && record.detail?.['limit'] === undefined) {
          this.rateLimitRejected({ environment, limit: 'concurrent_queries' });
        }
        return;
      }
      case 'query.executed':
        // Counted even when zero, so that the series exists from the first query on.
        this.rows.inc({ environment }, record.rows ?? 0);
        if (record.truncated === true) this.truncations.inc({ environment });
        return;
      case 'query.rejected':
        this.statementRejections.inc({ environment, reason: record.errorClass ?? 'unknown' });
        return;
      default: {
        const event = OAUTH_EVENTS[record.event];
        if (event !== undefined) this.oauthEvents.inc({ environment, event });
      }
    }
  }

  private poolGauge(name: string, help: string, field: keyof PoolStats): void {
    const pools = this.pools;
    new Gauge({
      name,
      help,
      labelNames: ['environment'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [environment, source] of pools) {
          const stats = source();
          if (stats !== undefined) this.set({ environment }, stats[field]);
        }
      }
    });
  }

  private auditGauge(
    name: string,
    help: string,
    value: (sink: ReturnType<AuditTrail['health']>['sinks'][number]) => number
  ): void {
    const trail = (): AuditTrail | undefined => this.trail;
    new Gauge({
      name,
      help,
      labelNames: ['sink'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const sink of trail()?.health().sinks ?? []) this.set({ sink: sink.name }, value(sink));
      }
    });
  }
}
