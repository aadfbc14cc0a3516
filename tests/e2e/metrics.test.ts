import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase, postgresDatabaseYaml } from '../dialects/engines/postgres.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import { callTool, connectWithoutAuth, disconnect } from '../helpers/mcp-connect.ts';
import { parsePrometheusText, series, type Sample } from '../helpers/prometheus-text.ts';
import { runCli, startServer, type RunningServer } from '../helpers/server-process.ts';
import { killIfRunning } from '../helpers/shutdown.ts';

/**
 * Prometheus metrics end to end: the real server process over real PostgreSQL with its metrics
 * listener on a port of its own, a known set of calls made through the official MCP client (ok,
 * refused by the statement guard, failed on the database), and a scrape that must show exactly
 * those calls by outcome, no more and no fewer. The listener's token is enforced, the MCP port does
 * not serve metrics, and a metrics host off loopback without a token is a configuration error.
 */

const TOKEN = 'metrics-e2e-token-0123456789abcdef';
const ROWS_IN_T = 3;

const servers: RunningServer[] = [];
const drops: (() => Promise<void>)[] = [];

afterAll(async () => {
  await Promise.allSettled(servers.map(killIfRunning));
  await Promise.allSettled(drops.map(drop => drop()));
});

/** The calls made, in order, and how each must end. */
const CALLS: { tool: string; args: Record<string, string>; outcome: 'ok' | 'rejected' | 'failed' }[] = [
  { tool: 'list_tables', args: {}, outcome: 'ok' },
  { tool: 'execute_sql', args: { query: 'SELECT id FROM t ORDER BY id' }, outcome: 'ok' },
  { tool: 'execute_sql', args: { query: 'SELECT count(*) AS n FROM t' }, outcome: 'ok' },
  { tool: 'execute_sql', args: { query: 'DELETE FROM t' }, outcome: 'rejected' },
  { tool: 'execute_sql', args: { query: 'DROP TABLE t' }, outcome: 'rejected' },
  { tool: 'execute_sql', args: { query: 'SELECT no_such_column FROM t' }, outcome: 'failed' }
];

describe('metrics of a session, on their own listener', () => {
  let server: RunningServer;
  let metricsUrl: string;
  let samples: Sample[];

  beforeAll(async () => {
    const dir = emptyDir('metrics-');
    const created = await createPostgresDatabase(
      `CREATE TABLE t (id integer PRIMARY KEY); INSERT INTO t SELECT generate_series(1, ${ROWS_IN_T})`
    );
    drops.push(created.drop);
    const config = join(dir, 'sqlbridge.yaml');
    writeFileSync(
      config,
      [
        `dataDir: ${dir}`,
        'metrics:',
        '  enabled: true',
        '  port: 0',
        '  token: ${METRICS_TOKEN}',
        'environments:',
        '  production:',
        `    database: ${postgresDatabaseYaml(created.name)}`,
        // Exactly the calls below are allowed; one more is refused at the HTTP layer, and counted.
        `    rateLimits: { toolCalls: { perAddress: { limit: ${String(CALLS.length)}, windowSeconds: 300 } } }`,
        ''
      ].join('\n')
    );
    server = await startServer({
      args: ['serve', '--no-auth', '--config', config],
      env: { METRICS_TOKEN: TOKEN }
    });
    servers.push(server);
    const line = server.logs.find(entry => entry['msg'] === 'metrics listening');
    expect(line, server.stderr()).toBeDefined();
    expect(line?.['level']).toBe('info');
    expect(typeof line?.['port']).toBe('number');
    metricsUrl = `http://127.0.0.1:${String(line?.['port'])}/metrics`;
    expect(line?.['metricsUrl']).toBe(metricsUrl);

    const client: Client = await connectWithoutAuth(server.baseUrl, 'production');
    for (const call of CALLS) {
      const answer = await callTool(client, call.tool, call.args);
      expect(answer.isError, `${call.tool} ${JSON.stringify(call.args)}: ${answer.text}`).toBe(call.outcome !== 'ok');
    }
    const refused = await client.callTool({ name: 'list_tables', arguments: {} }).then(
      () => 'answered',
      (error: unknown) => String(error)
    );
    expect(refused).toMatch(/429|Rate limit reached/);
    await disconnect(client);
    const response = await fetch(metricsUrl, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    samples = parsePrometheusText(await response.text());
  }, 60_000);

  it('counts exactly the calls made, by environment, tool and outcome, the one refused at the HTTP layer included', () => {
    const expected: Record<string, number> = {};
    for (const call of [...CALLS, { tool: 'list_tables', outcome: 'rejected' }]) {
      const key = `environment=production,outcome=${call.outcome},tool=${call.tool}`;
      expected[key] = (expected[key] ?? 0) + 1;
    }
    expect(series(samples, 'sqlbridge_tool_calls_total')).toEqual(expected);
    // One latency observation per call.
    expect(series(samples, 'sqlbridge_tool_call_duration_seconds_count')).toEqual({
      'environment=production,tool=list_tables': CALLS.filter(call => call.tool === 'list_tables').length + 1,
      'environment=production,tool=execute_sql': CALLS.filter(call => call.tool === 'execute_sql').length
    });
  });

  it('counts the guard rejections by reason and the rows returned', () => {
    expect(series(samples, 'sqlbridge_statement_rejections_total')).toEqual({
      'environment=production,reason=statement_rejected': CALLS.filter(call => call.outcome === 'rejected').length
    });
    // SELECT id: every row; SELECT count(*): one.
    expect(series(samples, 'sqlbridge_query_rows_total')).toEqual({ 'environment=production': ROWS_IN_T + 1 });
    expect(series(samples, 'sqlbridge_query_truncations_total')).toEqual({});
    // The failure was the statement's, not the database's reachability.
    expect(series(samples, 'sqlbridge_db_connection_errors_total')).toEqual({});
    // Without OAuth there are no OAuth events.
    expect(series(samples, 'sqlbridge_oauth_events_total')).toEqual({});
  });

  it('counts the call refused by the rate limit, and only it', () => {
    expect(series(samples, 'sqlbridge_rate_limit_rejections_total')).toEqual({
      'environment=production,limit=tool_call': 1
    });
  });

  it('reports the audit sink healthy and the process metrics', () => {
    expect(series(samples, 'sqlbridge_audit_sink_healthy')).toEqual({ 'sink=file': 1 });
    expect(series(samples, 'sqlbridge_audit_records_lost')).toEqual({ 'sink=file': 0 });
    expect(samples.find(sample => sample.name === 'process_cpu_seconds_total')?.value).toBeGreaterThan(0);
  });

  it('reports the pool and the open streams and sessions, read at scrape time', () => {
    // Every call has ended: no connection is in use, the one that served them idles in the pool.
    expect(series(samples, 'sqlbridge_db_pool_in_use')).toEqual({ 'environment=production': 0 });
    expect(series(samples, 'sqlbridge_db_pool_waiting')).toEqual({ 'environment=production': 0 });
    expect(series(samples, 'sqlbridge_db_pool_idle')['environment=production']).toBeGreaterThanOrEqual(1);
    // The client ended its session before the scrape.
    expect(samples.find(sample => sample.name === 'sqlbridge_streamable_http_sessions')?.value).toBe(0);
    expect(samples.find(sample => sample.name === 'sqlbridge_legacy_sse_streams')?.value).toBe(0);
  });

  it('refuses a scrape without the token or with a wrong one', async () => {
    for (const headers of [
      {},
      { authorization: 'Bearer wrong-token-of-some-length' },
      { authorization: `Bearer ${TOKEN}x` },
      { authorization: TOKEN },
      { authorization: `Basic ${Buffer.from(`prometheus:${TOKEN}`).toString('base64')}` }
    ]) {
      const response = await fetch(metricsUrl, { headers });
      expect(response.status, JSON.stringify(headers)).toBe(401);
      const text = await response.text();
      expect(text).not.toContain('sqlbridge_tool_calls_total');
    }
  });

  it('does not serve metrics on the MCP port', async () => {
    const response = await fetch(`${server.baseUrl}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(response.status).toBe(404);
    expect(await response.text()).not.toContain('sqlbridge_tool_calls_total');
  });

  it('stops the metrics listener with the server', async () => {
    expect(await server.stop()).toBe(0);
    await expect(fetch(metricsUrl, { headers: { authorization: `Bearer ${TOKEN}` } })).rejects.toThrow();
  });
});

describe('metrics exposure', () => {
  it('refuses to start with a metrics host off loopback and no token: one message naming metrics.token, exit 2', async () => {
    const dir = emptyDir('metrics-public-');
    const config = join(dir, 'sqlbridge.yaml');
    writeFileSync(
      config,
      [
        `dataDir: ${dir}`,
        'metrics:',
        '  enabled: true',
        '  host: 0.0.0.0',
        '  port: 0',
        'environments:',
        '  demo:',
        '    database: { engine: demo }',
        ''
      ].join('\n')
    );
    const result = await runCli(['serve', '--no-auth', '--config', config, '--port', '0']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/metrics\.token/);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });
});
