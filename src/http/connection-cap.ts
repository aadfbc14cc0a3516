import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { Logger } from '../observability/logger.ts';

/**
 * The most connections the HTTP server holds open (`server.maxConnections`). Every connection is an
 * open file: a client that opens thousands and leaves them idle would otherwise take the process to
 * its open-file limit, where database connections, the audit file and SQLite workers fail too. Node
 * closes a connection beyond the cap as soon as it is accepted.
 */

/** Open files kept for everything that is not a client connection. */
export const RESERVED_FILES = 512;

/** The cap actually applied: the configured one, lowered to leave RESERVED_FILES of the open-file limit. */
export function connectionCap(configured: number, openFileLimit: number | undefined): number {
  if (openFileLimit === undefined) return configured;
  return Math.max(16, Math.min(configured, openFileLimit - RESERVED_FILES));
}

/** The process's soft limit on open files (Linux: /proc/self/limits); undefined where unknown or unlimited. */
export function softOpenFileLimit(): number | undefined {
  try {
    const line = /^Max open files\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    const value = Number(line?.[1]);
    return Number.isSafeInteger(value) && value > 0 ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Caps the server's connections, warning (at most once a minute) while connections are being closed. */
export function capConnections(server: Server, cap: number, logger: Logger): void {
  server.maxConnections = cap;
  let warnedAt = 0;
  let dropped = 0;
  server.on('drop', () => {
    dropped++;
    const now = Date.now();
    if (now - warnedAt < 60_000) return;
    warnedAt = now;
    logger.warn(
      { maxConnections: cap, dropped },
      'connection closed: the server holds its maximum of open connections'
    );
    dropped = 0;
  });
}
