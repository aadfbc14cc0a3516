import type { Caller } from '../../db/runtime.ts';
import type { Environment } from '../../environment.ts';
import { SqlbridgeError } from '../../errors/sqlbridge-error.ts';
import type { Logger } from '../../observability/logger.ts';
import { recordRateLimitRejection, type LimitKeyKind } from './rejections.ts';

/**
 * At most `rateLimits.maxConcurrentQueriesPerUser` tool calls of one user running at once in an
 * environment, so that one user (or one runaway agent) cannot hold every pooled connection while
 * others wait. Counted in this process only: with several replicas each allows the maximum, which
 * still bounds what a user holds of each replica's pool (and the pool is per replica too).
 */

/** A running call's place; given back (once) when the call ends, however it ends. */
export interface QuerySlot {
  release(): void;
}

const NO_SLOT: QuerySlot = { release: () => undefined };

class RunningCalls {
  private readonly running = new Map<string, number>();
  readonly max: number;

  constructor(max: number) {
    this.max = max;
  }

  take(key: string): QuerySlot | undefined {
    const count = this.running.get(key) ?? 0;
    if (count >= this.max) return undefined;
    this.running.set(key, count + 1);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        const left = (this.running.get(key) ?? 1) - 1;
        if (left <= 0) this.running.delete(key);
        else this.running.set(key, left);
      }
    };
  }
}

const byEnvironment = new WeakMap<Environment, RunningCalls>();

/**
 * Takes a slot for the caller's call, or refuses it with an error the model sees (`rate_limited`,
 * naming the limit). The caller is keyed by OAuth subject; without OAuth by client address; a
 * local (stdio) caller is one user.
 */
export function takeQuerySlot(environment: Environment, caller: Caller, logger: Logger): QuerySlot {
  const max = environment.config.rateLimits.maxConcurrentQueriesPerUser;
  if (max === null) return NO_SLOT;
  let calls = byEnvironment.get(environment);
  if (calls?.max !== max) {
    calls = new RunningCalls(max);
    byEnvironment.set(environment, calls);
  }
  const [kind, key] = userOf(caller);
  const slot = calls.take(key);
  if (slot !== undefined) return slot;
  // The environment is already a field of the environment's logger (a second one would repeat the key).
  recordRateLimitRejection(logger, { rule: 'concurrent queries per user', keyKind: kind });
  throw new SqlbridgeError(
    'rate_limited',
    `at most ${String(max)} queries may run at once per user in this environment, and ${String(max)} of yours are running`,
    {
      expose: true,
      hint: 'wait for a running query to finish (or cancel one), then try again; run queries one after another'
    }
  );
}

function userOf(caller: Caller): [LimitKeyKind, string] {
  const identity = caller.identity;
  if (identity !== undefined) {
    if (identity.subject !== null) return ['user', `sub:${identity.subject}`];
    return ['client', `client:${identity.clientId ?? ''}`];
  }
  return ['address', `address:${caller.remoteAddress ?? 'local'}`];
}
