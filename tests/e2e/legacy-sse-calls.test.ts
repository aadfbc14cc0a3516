import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase, postgresDatabaseYaml } from '../dialects/engines/postgres.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import { startServer, type RunningServer } from '../helpers/server-process.ts';
import { busyFor } from '../helpers/slow-postgres.ts';
import { eventMessage, legacySseTransport, openEventStream, type EventStreamReader } from '../helpers/sse.ts';

/**
 * Calls over the legacy HTTP+SSE transport on PostgreSQL, without OAuth: a long execute_sql called
 * by the SDK's SSE client with `onprogress` reports `notifications/progress` on the event stream
 * while it runs (every second in production code), before its result; a posted batch that reuses
 * the id of a running request is refused without delivering any of it; a session is reachable only
 * through the messages endpoint of the environment whose stream opened it.
 */

let server: RunningServer;
let dropDatabase: () => Promise<void>;

beforeAll(async () => {
  const dir = emptyDir('legacy-sse-calls-');
  const database = await createPostgresDatabase('CREATE TABLE t (id integer PRIMARY KEY)');
  dropDatabase = database.drop;
  const config = join(dir, 'sqlbridge.yaml');
  writeFileSync(
    config,
    [
      'environments:',
      '  pg:',
      `    database: ${postgresDatabaseYaml(database.name)}`,
      '  other:',
      `    database: ${postgresDatabaseYaml(database.name)}`,
      ''
    ].join('\n')
  );
  server = await startServer({ args: ['serve', '--config', config, '--data-dir', dir, '--no-auth'] });
}, 60_000);

afterAll(async () => {
  await server.stop();
  await dropDatabase();
});

const at = (path: string): string => `${server.baseUrl}${path}`;

async function post(path: string, body: unknown): Promise<Response> {
  return fetch(at(path), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body)
  });
}

/** A raw session on /pg/sse, initialized; its stream after the initialize answer, and where to post. */
async function initializedSession(): Promise<{ stream: EventStreamReader; messages: string }> {
  const { stream } = await openEventStream(at('/pg/sse'));
  const messages = (await stream.nextEvent())?.data ?? '';
  const initialize = await post(messages, {
    jsonrpc: '2.0',
    id: 'init',
    method: 'initialize',
    params: { protocolVersion: '2024-11-05', capabilities: {}, clientInfo: { name: 'legacy-sse-calls', version: '1' } }
  });
  expect(initialize.status).toBe(202);
  expect(eventMessage(await stream.nextEvent())).toMatchObject({
    id: 'init',
    result: { protocolVersion: '2024-11-05' }
  });
  expect((await post(messages, { jsonrpc: '2.0', method: 'notifications/initialized' })).status).toBe(202);
  return { stream, messages };
}

it('sends increasing notifications/progress on the event stream before the result of a long query', async () => {
  const client = new Client({ name: 'legacy-sse-progress', version: '1' });
  await client.connect(legacySseTransport(at('/pg/sse')));
  try {
    const updates: { progress: number; message?: string }[] = [];
    const result = await client.callTool(
      { name: 'execute_sql', arguments: { query: busyFor(2.5) } },
      { onprogress: update => updates.push(update) }
    );
    // The client routes progress to onprogress only while the call is unanswered: these came first.
    expect(updates.length).toBeGreaterThanOrEqual(1);
    expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
    expect((result.structuredContent as { rows: unknown[][] }).rows).toEqual([[1]]);
    const values = updates.map(update => update.progress);
    for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThan(values[i - 1] ?? 0);
    expect(values[0]).toBeGreaterThan(0);
    for (const update of updates) expect(update.message).toEqual(expect.any(String));
  } finally {
    await client.close();
  }
});

describe('the message endpoint with a request running', () => {
  // legacy-sse.ts promises that a bad batch delivers nothing, but the running-id check happens in
  // SseSession.receive, message by message, after the batch's earlier messages were delivered.
  it('refuses a batch reusing the id of a running request without delivering any of it', async () => {
    const { stream, messages } = await initializedSession();
    try {
      const long = { name: 'execute_sql', arguments: { query: busyFor(2) } };
      expect((await post(messages, { jsonrpc: '2.0', id: 'long', method: 'tools/call', params: long })).status).toBe(
        202
      );
      const batch = await post(messages, [
        { jsonrpc: '2.0', id: 'innocent', method: 'ping' },
        { jsonrpc: '2.0', id: 'long', method: 'ping' }
      ]);
      expect(batch.status).toBe(400);
      expect(JSON.stringify(await batch.json())).toContain('the id \\"long\\" belongs to a request still running');
      // Everything on the stream until the long call's answer: the refused batch delivered nothing.
      const seen: unknown[] = [];
      for (;;) {
        const message = eventMessage(await stream.nextEvent(10_000));
        seen.push(message['id']);
        if (message['id'] === 'long') break;
      }
      expect(seen).toEqual(['long']);
    } finally {
      await stream.close();
    }
  });

  it("answers 404 to a session posted through another environment's messages endpoint", async () => {
    const { stream, messages } = await initializedSession();
    try {
      const elsewhere = messages.replace('/pg/messages', '/other/messages');
      expect(elsewhere).toMatch(/^\/other\/messages\?sessionId=/);
      const response = await post(elsewhere, { jsonrpc: '2.0', id: 'x', method: 'ping' });
      expect(response.status).toBe(404);
      expect(await response.json()).toMatchObject({ error: { message: 'Session not found' } });
      expect((await post(messages, { jsonrpc: '2.0', id: 'here', method: 'ping' })).status).toBe(202);
      expect(eventMessage(await stream.nextEvent())).toMatchObject({ id: 'here' });
    } finally {
      await stream.close();
    }
  });
});

describe('a client that does not read its event stream', () => {
  it('has its stream closed once a megabyte of answers waits unread, and the server serves on', async () => {
    // A raw socket that reads the endpoint event, then nothing: the answers queue up on the server.
    const socket = connect(Number(new URL(server.baseUrl).port), '127.0.0.1');
    await once(socket, 'connect');
    socket.write(`GET /pg/sse HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`);
    let head = '';
    while (!/sessionId=\S+\n\n/.test(head)) {
      const [chunk] = (await once(socket, 'data')) as [Buffer];
      head += chunk.toString();
    }
    socket.pause();
    const messages = /data: (\/pg\/messages\?sessionId=\S+)\n/.exec(head)?.[1] ?? '';
    expect(messages).not.toBe('');
    const lists = (n: number) =>
      Array.from({ length: 100 }, (_, i) => ({ jsonrpc: '2.0', id: `list-${n}-${i}`, method: 'tools/list' }));
    try {
      expect((await post(messages, { jsonrpc: '2.0', method: 'notifications/initialized' })).status).toBe(202);
      // Each batch's answers are several hundred kilobytes; what the sockets do not take waits on the server.
      let posted = 0;
      let status = 202;
      while (status === 202 && posted < 400) {
        status = (await post(messages, lists(posted))).status;
        posted++;
      }
      // The stream was ended and its session with it: the next post finds none.
      expect(status).toBe(404);
      expect(posted).toBeLessThan(400);
    } finally {
      socket.destroy();
    }
    const { stream } = await initializedSession();
    await stream.close();
  });
});
