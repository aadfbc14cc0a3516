import { spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, LOG_BATCH, type LogWriting } from '../../src/observability/logger.ts';
import { until } from '../helpers/shutdown.ts';

/**
 * How a logger writes to a file descriptor: line by line, or (a serving process) in batches that
 * wait at most LOG_BATCH.maxWaitMs, are written at once when LOG_BATCH.bytes have gathered or when
 * asked, and are never left behind when the process exits.
 */

const LOGGER_MODULE = join(import.meta.dirname, '../../src/observability/logger.ts');

let dir: string | undefined;
const loggers: pino.Logger[] = [];

afterEach(() => {
  // Ending a logger's stream stops its batches and closes its descriptor.
  for (const logger of loggers.splice(0)) {
    (logger as unknown as Record<symbol, { destroy(): void }>)[pino.symbols.streamSym]?.destroy();
  }
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** A logger writing to a file of its own, and what the file holds. */
function logFile(writing?: LogWriting): { logger: pino.Logger; text: () => string } {
  dir ??= mkdtempSync(join(tmpdir(), 'sqlbridge-log-'));
  const path = join(dir, `log-${loggers.length}.jsonl`);
  const logger = createLogger('info', openSync(path, 'a'), writing);
  loggers.push(logger);
  return { logger, text: () => readFileSync(path, 'utf8') };
}

const messages = (text: string): unknown[] =>
  text
    .split('\n')
    .filter(line => line !== '')
    .map(line => (JSON.parse(line) as { msg: unknown }).msg);

describe('log lines written to a file descriptor', () => {
  it('are written one by one, as they are logged, by default', () => {
    const { logger, text } = logFile();
    logger.info('first');
    expect(messages(text())).toEqual(['first']);
    logger.info('second');
    expect(messages(text())).toEqual(['first', 'second']);
  });

  it(`are gathered when batched, and written within ${LOG_BATCH.maxWaitMs} ms`, async () => {
    const { logger, text } = logFile({ batched: true });
    logger.info('waits');
    expect(text()).toBe('');
    expect(await until(() => text() !== '', 5_000)).toBe(true);
    expect(messages(text())).toEqual(['waits']);
  });

  it(`are written at once when batched lines come to ${LOG_BATCH.bytes} bytes`, () => {
    const { logger, text } = logFile({ batched: true });
    const filler = 'x'.repeat(200);
    let logged = 0;
    while (logged * filler.length < LOG_BATCH.bytes) logger.info({ n: logged++ }, filler);
    const written = messages(text());
    expect(written.length).toBeGreaterThan(0);
    expect(written.length).toBeLessThanOrEqual(logged);
    expect(written.every(message => message === filler)).toBe(true);
  });

  it('are written at once when batched lines are flushed', () => {
    const { logger, text } = logFile({ batched: true });
    logger.warn('serving');
    logger.flush();
    expect(messages(text())).toEqual(['serving']);
  });

  it('are all written before the process exits, batched or not', () => {
    for (const batched of [true, false]) {
      const script = [
        `const { createLogger } = await import(${JSON.stringify(LOGGER_MODULE)});`,
        `const logger = createLogger('info', 2, { batched: ${batched} });`,
        "for (let i = 0; i < 3; i++) logger.info({ i }, 'last words');",
        'process.exit(3);'
      ].join('\n');
      const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        encoding: 'utf8',
        timeout: 20_000
      });
      expect(child.status, child.stderr).toBe(3);
      expect(messages(child.stderr)).toEqual(['last words', 'last words', 'last words']);
    }
  });
});

describe('the operations guide', () => {
  it('states the batch a server writes as the logger has it', () => {
    const kib = String(LOG_BATCH.bytes / 1024);
    const ms = String(LOG_BATCH.maxWaitMs);
    for (const [guide, says] of [
      ['docs/operations.md', `once they come to ${kib} KiB, and at most ${ms} ms after they were logged`],
      ['docs/es/operations.md', `en cuanto suman ${kib} KiB, y como mucho ${ms} ms después de registrarse`]
    ] as const) {
      const text = readFileSync(join(import.meta.dirname, '../..', guide), 'utf8').replace(/\s+/g, ' ');
      expect(text, guide).toContain(says);
    }
  });
});
