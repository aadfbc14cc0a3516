import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/audit/record.ts';
import type { AuditSink } from '../../src/audit/sink.ts';
import { AuditTrail, type AuditEntry } from '../../src/audit/trail.ts';
import { configSchema, databaseSchema } from '../../src/config/schema.ts';
import { assertHttpExposureAllowed } from '../../src/config/policy.ts';
import { PostgresDriver } from '../../src/db/dialects/postgres/postgres-driver.ts';
import { SqliteDriver } from '../../src/db/dialects/sqlite/sqlite-driver.ts';
import type { Driver, RowSink } from '../../src/db/driver.ts';
import { ConfigError } from '../../src/errors/config-error.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { limitLabel } from '../../src/http/limits/rejections.ts';
import { Metrics } from '../../src/observability/metrics.ts';
import { POSTGRES } from '../dialects/engines/postgres.ts';
import { parsePrometheusText, series, type Sample } from '../helpers/prometheus-text.ts';
import { createSqliteFixture } from '../helpers/sqlite-fixture.ts';

/**
 * The metrics as derived from the audit trail's records (what each record adds, and what it must
 * not), the states read at scrape time (audit sinks, pools, streams), the metrics listener's exposure
 * rule, and the Grafana dashboard, which may only use metric names the registry has.
 */

/** A sink that writes, or fails while told to (a full disk, a dropped table). */
class SwitchableSink implements AuditSink {
  readonly name = 'switchable';
  failure: Error | undefined;

  async write(): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
  }

  async close(): Promise<void> {}
}

function newTrail(sinks: AuditSink[] = [], maxPending = 100): AuditTrail {
  return new AuditTrail(sinks, { flushIntervalMs: 60_000, maxPending, logger: createLogger('silent') });
}

async function scrape(metrics: Metrics): Promise<Sample[]> {
  return parsePrometheusText(await metrics.render());
}

const call = (tool: string, outcome: AuditRecord['outcome'], durationMs: number, errorClass?: string): AuditEntry => ({
  event: 'tool.called',
  outcome,
  environment: 'prod',
  tool,
  user: 'ana',
  clientId: 'client-1',
  durationMs,
  ...(errorClass === undefined ? {} : { errorClass })
});

describe('counters derived from audit records', () => {
  it('counts each tool call once by environment, tool and outcome, and its duration in seconds', async () => {
    const metrics = new Metrics({ processMetrics: false });
    const trail = newTrail();
    metrics.observeAudit(trail);
    trail.record(call('execute_sql', 'ok', 20));
    trail.record(call('execute_sql', 'ok', 1500));
    trail.record(call('execute_sql', 'rejected', 1, 'statement_rejected'));
    trail.record(call('execute_sql', 'failed', 7, 'query_failed'));
    trail.record(call('list_tables', 'failed', 3, 'connection_failed'));
    trail.record({ ...call('list_tables', 'ok', 4), environment: 'staging' });
    const samples = await scrape(metrics);
    expect(series(samples, 'sqlbridge_tool_calls_total')).toEqual({
      'environment=prod,outcome=ok,tool=execute_sql': 2,
      'environment=prod,outcome=rejected,tool=execute_sql': 1,
      'environment=prod,outcome=failed,tool=execute_sql': 1,
      'environment=prod,outcome=failed,tool=list_tables': 1,
      'environment=staging,outcome=ok,tool=list_tables': 1
    });
    expect(series(samples, 'sqlbridge_tool_call_duration_seconds_count')).toEqual({
      'environment=prod,tool=execute_sql': 4,
      'environment=prod,tool=list_tables': 1,
      'environment=staging,tool=list_tables': 1
    });
    expect(
      series(samples, 'sqlbridge_tool_call_duration_seconds_sum')['environment=prod,tool=execute_sql']
    ).toBeCloseTo((20 + 1500 + 1 + 7) / 1000, 6);
    // 1.5 s is above the 1 s bucket and within 2.5 s.
    const buckets = samples.filter(
      s => s.name === 'sqlbridge_tool_call_duration_seconds_bucket' && s.labels['tool'] === 'execute_sql'
    );
    expect(buckets.find(s => s.labels['le'] === '1')?.value).toBe(3);
    expect(buckets.find(s => s.labels['le'] === '2.5')?.value).toBe(4);
    // Only the call that failed to reach the database is a connection error.
    expect(series(samples, 'sqlbridge_db_connection_errors_total')).toEqual({ 'environment=prod': 1 });
    // No user or client ever becomes a label.
    for (const sample of samples) expect(Object.values(sample.labels)).not.toContain('ana');
    for (const sample of samples) expect(Object.values(sample.labels)).not.toContain('client-1');
    await trail.close();
  });

  it('adds the rows of executed queries, counts truncated results and rejections by reason', async () => {
    const metrics = new Metrics({ processMetrics: false });
    const trail = newTrail();
    metrics.observeAudit(trail);
    const query = { environment: 'prod', tool: 'execute_sql', durationMs: 3 };
    trail.record({ ...query, event: 'query.executed', outcome: 'ok', rows: 3, truncated: false });
    trail.record({ ...query, event: 'query.executed', outcome: 'ok', rows: 50, truncated: true });
    trail.record({ ...query, event: 'query.executed', outcome: 'ok', rows: 0, truncated: false });
    trail.record({ ...query, event: 'query.rejected', outcome: 'rejected', errorClass: 'statement_rejected' });
    trail.record({ ...query, event: 'query.rejected', outcome: 'rejected', errorClass: 'statement_rejected' });
    trail.record({ ...query, event: 'query.failed', outcome: 'failed', errorClass: 'query_timeout' });
    const samples = await scrape(metrics);
    expect(series(samples, 'sqlbridge_query_rows_total')).toEqual({ 'environment=prod': 53 });
    expect(series(samples, 'sqlbridge_query_truncations_total')).toEqual({ 'environment=prod': 1 });
    expect(series(samples, 'sqlbridge_statement_rejections_total')).toEqual({
      'environment=prod,reason=statement_rejected': 2
    });
    // Query records are not tool calls: the tool call has a record of its own.
    expect(series(samples, 'sqlbridge_tool_calls_total')).toEqual({});
    await trail.close();
  });

  it('counts OAuth events by environment and event, and ignores records that are none', async () => {
    const metrics = new Metrics({ processMetrics: false });
    const trail = newTrail();
    metrics.observeAudit(trail);
    const events: [AuditRecord['event'], AuditRecord['outcome']][] = [
      ['auth.login_succeeded', 'ok'],
      ['auth.login_failed', 'failed'],
      ['auth.login_failed', 'failed'],
      ['client.registered', 'ok'],
      ['token.issued', 'ok'],
      ['token.refreshed', 'ok'],
      ['token.refresh_reused', 'rejected'],
      ['server.started', 'ok'],
      ['config.loaded', 'ok']
    ];
    for (const [event, outcome] of events) trail.record({ event, outcome, environment: 'prod' });
    const samples = await scrape(metrics);
    expect(series(samples, 'sqlbridge_oauth_events_total')).toEqual({
      'environment=prod,event=login_succeeded': 1,
      'environment=prod,event=login_failed': 2,
      'environment=prod,event=client_registered': 1,
      'environment=prod,event=token_issued': 1,
      'environment=prod,event=token_refreshed': 1,
      'environment=prod,event=refresh_reused': 1
    });
    await trail.close();
  });

  it('keeps registries apart: two servers in one process count only their own records', async () => {
    const [first, second] = [new Metrics(), new Metrics()];
    const [trailA, trailB] = [newTrail(), newTrail()];
    first.observeAudit(trailA);
    second.observeAudit(trailB);
    trailA.record(call('execute_sql', 'ok', 1));
    trailA.record(call('execute_sql', 'ok', 1));
    trailB.record(call('execute_sql', 'ok', 1));
    expect(series(await scrape(first), 'sqlbridge_tool_calls_total')).toEqual({
      'environment=prod,outcome=ok,tool=execute_sql': 2
    });
    expect(series(await scrape(second), 'sqlbridge_tool_calls_total')).toEqual({
      'environment=prod,outcome=ok,tool=execute_sql': 1
    });
    // Process metrics on each registry, not on prom-client's global one.
    expect((await scrape(first)).some(sample => sample.name === 'process_cpu_seconds_total')).toBe(true);
    // Unsubscribed: later records no longer count.
    first.close();
    trailA.record(call('execute_sql', 'ok', 1));
    expect(series(await scrape(first), 'sqlbridge_tool_calls_total')).toEqual({
      'environment=prod,outcome=ok,tool=execute_sql': 2
    });
    await Promise.all([trailA.close(), trailB.close()]);
  });

  it('counts a call refused for too many running queries as a concurrent-queries rejection, from its record', async () => {
    const metrics = new Metrics({ processMetrics: false });
    const trail = newTrail();
    metrics.observeAudit(trail);
    trail.record(call('execute_sql', 'rejected', 0, 'rate_limited'));
    trail.record(call('execute_sql', 'ok', 5));
    expect(series(await scrape(metrics), 'sqlbridge_rate_limit_rejections_total')).toEqual({
      'environment=prod,limit=concurrent_queries': 1
    });
    await trail.close();
  });

  it('labels each rate-limit rule for the rejection counter', () => {
    expect(limitLabel('tool calls per user')).toBe('tool_call');
    expect(limitLabel('tool calls per address')).toBe('tool_call');
    expect(limitLabel('concurrent queries per user')).toBe('concurrent_queries');
    expect(limitLabel('client registration')).toBe('registration');
    expect(limitLabel('sign-in')).toBe('sign_in');
    expect(limitLabel('token')).toBe('token');
  });

  it('counts rate-limit rejections through the interface the rate limits use', async () => {
    const metrics = new Metrics({ processMetrics: false });
    metrics.rateLimitRejected({ limit: 'tool_call', environment: 'prod' });
    metrics.rateLimitRejected({ limit: 'tool_call', environment: 'prod' });
    metrics.rateLimitRejected({ limit: 'sign_in' });
    expect(series(await scrape(metrics), 'sqlbridge_rate_limit_rejections_total')).toEqual({
      'environment=prod,limit=tool_call': 2,
      'environment=,limit=sign_in': 1
    });
  });
});

describe('states read at scrape time', () => {
  it('reports each audit sink healthy, then failing with its pending and lost records, then healthy again', async () => {
    const metrics = new Metrics({ processMetrics: false });
    const sink = new SwitchableSink();
    const trail = newTrail([sink], 100);
    metrics.observeAudit(trail);
    const audit = async () => {
      const samples = await scrape(metrics);
      return {
        healthy: series(samples, 'sqlbridge_audit_sink_healthy'),
        pending: series(samples, 'sqlbridge_audit_records_pending'),
        lost: series(samples, 'sqlbridge_audit_records_lost')
      };
    };
    expect(await audit()).toEqual({
      healthy: { 'sink=switchable': 1 },
      pending: { 'sink=switchable': 0 },
      lost: { 'sink=switchable': 0 }
    });
    sink.failure = new Error('disk full');
    for (let n = 0; n < 130; n++) trail.record(call('execute_sql', 'ok', 1));
    await trail.flush(true);
    expect(await audit()).toEqual({
      healthy: { 'sink=switchable': 0 },
      pending: { 'sink=switchable': 100 },
      lost: { 'sink=switchable': 30 }
    });
    sink.failure = undefined;
    await trail.flush(true);
    expect(await audit()).toEqual({
      healthy: { 'sink=switchable': 1 },
      pending: { 'sink=switchable': 0 },
      lost: { 'sink=switchable': 30 }
    });
    await trail.close();
  });

  it('reports open streams and sessions as the server counts them at the moment of the scrape', async () => {
    const metrics = new Metrics({ processMetrics: false });
    let open = { sse: 2, sessions: 5 };
    metrics.observeStreams({ legacySseStreams: () => open.sse, streamableSessions: () => open.sessions });
    let samples = await scrape(metrics);
    expect(series(samples, 'sqlbridge_legacy_sse_streams')).toEqual({ '': 2 });
    expect(series(samples, 'sqlbridge_streamable_http_sessions')).toEqual({ '': 5 });
    open = { sse: 0, sessions: 1 };
    samples = await scrape(metrics);
    expect(series(samples, 'sqlbridge_legacy_sse_streams')).toEqual({ '': 0 });
    expect(series(samples, 'sqlbridge_streamable_http_sessions')).toEqual({ '': 1 });
  });
});

describe('database pools, read from the real drivers', () => {
  const drivers: Driver[] = [];
  afterAll(async () => {
    await Promise.allSettled(drivers.map(driver => driver.destroy()));
  });

  const discard: RowSink = { columns: () => undefined, row: () => true };

  async function poolDuring(driver: Driver, sql: string, environment: string, metrics: Metrics) {
    metrics.observePool(environment, () => driver.poolStats?.());
    const running = driver.stream({ sql, readOnly: true }, discard, new AbortController().signal);
    // The statement is running (it holds its connection) while the scrape happens.
    await new Promise(resolve => setTimeout(resolve, 150));
    const during = await scrape(metrics);
    await running;
    const after = await scrape(metrics);
    const pool = (samples: Sample[]) => ({
      inUse: series(samples, 'sqlbridge_db_pool_in_use')[`environment=${environment}`],
      idle: series(samples, 'sqlbridge_db_pool_idle')[`environment=${environment}`],
      waiting: series(samples, 'sqlbridge_db_pool_waiting')[`environment=${environment}`]
    });
    return { during: pool(during), after: pool(after) };
  }

  it('PostgreSQL: the connection running a statement is in use, then idle', async () => {
    const database = databaseSchema.parse({ engine: 'postgres', ...POSTGRES, tls: 'disable', pool: { max: 2 } });
    if (database.engine !== 'postgres') throw new Error('expected a PostgreSQL configuration');
    const driver = new PostgresDriver({
      database,
      statementTimeoutMs: 10_000
    });
    drivers.push(driver);
    await driver.init();
    const metrics = new Metrics({ processMetrics: false });
    const seen = await poolDuring(driver, 'SELECT pg_sleep(0.5)', 'pg', metrics);
    expect(seen.during).toEqual({ inUse: 1, idle: 0, waiting: 0 });
    expect(seen.after).toEqual({ inUse: 0, idle: 1, waiting: 0 });
  });

  it('SQLite: the worker process running a statement is in use, then idle', async () => {
    const driver = new SqliteDriver({
      path: createSqliteFixture(),
      readOnly: true,
      pool: { max: 2, idleTimeoutMs: 30_000 }
    });
    drivers.push(driver);
    await driver.init();
    const metrics = new Metrics({ processMetrics: false });
    // A recursive count long enough to still run at the scrape.
    const slow =
      'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000000) SELECT count(*) FROM n';
    const seen = await poolDuring(driver, slow, 'lite', metrics);
    expect(seen.during).toEqual({ inUse: 1, idle: 0, waiting: 0 });
    expect(seen.after).toEqual({ inUse: 0, idle: 1, waiting: 0 });
  });
});

describe('the metrics listener exposure rule', () => {
  const parse = (metrics: Record<string, unknown>) => configSchema.parse({ metrics });

  it('refuses a non-loopback metrics host without a token, naming metrics.token', () => {
    for (const host of ['0.0.0.0', '10.1.2.3', '::', 'metrics.example.com']) {
      let thrown: unknown;
      try {
        assertHttpExposureAllowed(parse({ enabled: true, host }));
      } catch (error) {
        thrown = error;
      }
      expect(thrown, host).toBeInstanceOf(ConfigError);
      expect((thrown as Error).message, host).toMatch(/metrics\.token/);
    }
  });

  it('allows loopback without a token, any host with one, and anything while metrics are off', () => {
    for (const host of ['127.0.0.1', '::1', 'localhost']) {
      expect(() => assertHttpExposureAllowed(parse({ enabled: true, host }))).not.toThrow();
    }
    expect(() =>
      assertHttpExposureAllowed(parse({ enabled: true, host: '0.0.0.0', token: 'a-long-token' }))
    ).not.toThrow();
    expect(() => assertHttpExposureAllowed(parse({ enabled: false, host: '0.0.0.0' }))).not.toThrow();
  });

  it('defaults to off, on loopback, port 9464', () => {
    expect(configSchema.parse({}).metrics).toEqual({ enabled: false, host: '127.0.0.1', port: 9464 });
  });
});

describe('the Grafana dashboard', () => {
  const dashboard = JSON.parse(
    readFileSync(new URL('../../deploy/grafana/sqlbridge.json', import.meta.url), 'utf8')
  ) as {
    panels: { title: string; targets: { expr: string }[] }[];
    templating: { list: { query?: unknown }[] };
  };

  /** Every PromQL expression of the dashboard: panel targets and template variable queries. */
  const expressions = [
    ...dashboard.panels.flatMap(panel => panel.targets.map(target => target.expr)),
    ...dashboard.templating.list.flatMap(variable => {
      const query = variable.query;
      if (typeof query === 'object' && query !== null && 'query' in query) return [String(query.query)];
      return [];
    })
  ];

  it('uses only metric names the registry has', async () => {
    const metrics = new Metrics();
    const known = new Set<string>();
    for (const metric of await metrics.registry.getMetricsAsJSON()) {
      known.add(metric.name);
      if (String(metric.type) === 'histogram') {
        for (const suffix of ['_bucket', '_sum', '_count']) known.add(metric.name + suffix);
      }
    }
    const used = new Set(
      expressions.flatMap(expr => [...expr.matchAll(/\b(?:sqlbridge|process|nodejs)_[a-z0-9_]+\b/g)].map(m => m[0]))
    );
    expect(expressions.length).toBeGreaterThanOrEqual(10);
    expect([...used].filter(name => !known.has(name))).toEqual([]);
    // Every sqlbridge metric is on the dashboard somewhere.
    const ours = [...known].filter(name => name.startsWith('sqlbridge_') && !/_(sum|count)$/.test(name));
    const histograms = new Set([...known].filter(name => name.endsWith('_bucket')).map(name => name.slice(0, -7)));
    expect(ours.filter(name => !used.has(name) && !histograms.has(name))).toEqual([]);
  });
});
