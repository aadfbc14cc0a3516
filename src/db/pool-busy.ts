import { SqlbridgeError } from '../errors/sqlbridge-error.ts';

/**
 * What a call is told when every connection of its environment's pool stayed in use for as long as
 * a caller may wait for one: the database is busy, not unavailable (which would send an operator
 * looking for an outage), nor the call's query cancelled (it never ran).
 */
export function poolBusyError(connections: number, waitedMs: number, cause?: unknown): SqlbridgeError {
  const seconds = Math.round(waitedMs / 100) / 10;
  return new SqlbridgeError(
    'database_busy',
    `all ${connections} of this environment's connections to the database were in use for ${seconds} s`,
    {
      expose: true,
      hint: 'try again in a moment, and run fewer queries at once; an operator may raise database.pool.max',
      ...(cause === undefined ? {} : { cause })
    }
  );
}
