import { describe, expect, it } from 'vitest';
import { spawnServer } from '../../bench/spawned-server.ts';

/**
 * A server under measurement is watched for the line that says it listens; after that its lines
 * are only kept as a tail, never read one by one, so that a server that logs more does not make the
 * measuring side busier.
 */

const SCRIPT = [
  "process.stderr.write('starting\\n');",
  "process.stderr.write(JSON.stringify({ ready: 'http://127.0.0.1:1' }) + '\\nin the same chunk\\n');",
  "let n = 0; const timer = setInterval(() => { process.stderr.write('line ' + n++ + '\\n'); if (n === 50) { clearInterval(timer); process.stderr.write('done\\n'); } }, 2);",
  'setInterval(() => {}, 1000);'
].join('\n');

describe('a spawned server', () => {
  it('has its lines read until it says it listens, then only kept as the tail', async () => {
    const read: string[] = [];
    const server = await spawnServer(process.execPath, ['-e', SCRIPT], {
      cwd: process.cwd(),
      readyWhen: line => {
        read.push(line);
        return line.startsWith('{') ? (JSON.parse(line) as { ready: string }).ready : undefined;
      }
    });
    try {
      expect(server.baseUrl).toBe('http://127.0.0.1:1');
      const deadline = Date.now() + 10_000;
      while (!server.tail().includes('done') && Date.now() < deadline) await new Promise(r => setTimeout(r, 20));
      expect(server.tail()).toContain('in the same chunk');
      expect(server.tail()).toContain('line 49\ndone');
      expect(read).toEqual(['starting', JSON.stringify({ ready: 'http://127.0.0.1:1' })]);
    } finally {
      await server.stop();
    }
  });
});
