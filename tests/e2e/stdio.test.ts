import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { demoDataDir } from '../helpers/data-dir.ts';
import { MAIN } from '../helpers/server-process.ts';

/** Under stdio, stdout carries the protocol and nothing else; the process ends when stdin closes. */
describe('stdio transport', () => {
  it('writes only JSON-RPC on stdout, logs on stderr, and exits 0 when the client closes stdin', async () => {
    const child = spawn(
      process.execPath,
      [MAIN, 'stdio', '--demo', '--data-dir', demoDataDir(), '--log-level', 'debug'],
      {
        env: { PATH: process.env['PATH'] ?? '' },
        stdio: ['pipe', 'pipe', 'pipe']
      }
    );
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const send = (message: object): void => {
      child.stdin.write(`${JSON.stringify(message)}\n`);
    };
    const responses = async (count: number): Promise<void> => {
      const deadline = Date.now() + 20_000;
      while (stdout.split('\n').filter(Boolean).length < count && Date.now() < deadline)
        await new Promise(r => setTimeout(r, 20));
    };

    send({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } }
    });
    await responses(1);
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    send({
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/call',
      params: { name: 'execute_sql', arguments: { query: 'SELECT count(*) AS regions FROM regions' } }
    });
    send({
      jsonrpc: '2.0',
      id: 3,
      method: 'tools/call',
      params: { name: 'execute_sql', arguments: { query: 'SELECT * FROM missing' } }
    });
    await responses(3);
    child.stdin.end();
    const [code] = (await once(child, 'exit')) as [number];

    const messages = stdout
      .split('\n')
      .filter(Boolean)
      .map(line => JSON.parse(line) as { jsonrpc: string; id: number; result?: Record<string, unknown> });
    expect(messages.map(m => [m.jsonrpc, m.id])).toEqual([
      ['2.0', 1],
      ['2.0', 2],
      ['2.0', 3]
    ]);
    expect(messages[0]?.result?.['protocolVersion']).toBe('2025-06-18');
    expect(messages[1]?.result?.['structuredContent']).toMatchObject({ rows: [[6]] });
    expect(messages[2]?.result).toMatchObject({ isError: true });
    expect(code).toBe(0);
    const logs = stderr
      .trim()
      .split('\n')
      .map(line => JSON.parse(line) as Record<string, unknown>);
    expect(logs.some(l => String(l['msg']).includes('over stdio'))).toBe(true);
    expect(logs.some(l => l['msg'] === 'query')).toBe(true);
  });
});
