/**
 * The stop signals (SIGINT, SIGTERM): `first` resolves with the first one, `again` with any sent after
 * it, which means "now". One handler serves both and stays until `release`, so that no signal falls
 * between the two and ends the process with Node's default action.
 */
export interface StopSignals {
  first: Promise<NodeJS.Signals>;
  again: Promise<NodeJS.Signals>;
  /** The first signal, once one has come. */
  received(): NodeJS.Signals | undefined;
  release(): void;
}

export function stopSignals(): StopSignals {
  let resolveFirst: (signal: NodeJS.Signals) => void = () => undefined;
  let resolveAgain: (signal: NodeJS.Signals) => void = () => undefined;
  const first = new Promise<NodeJS.Signals>(resolve => (resolveFirst = resolve));
  const again = new Promise<NodeJS.Signals>(resolve => (resolveAgain = resolve));
  let firstSignal: NodeJS.Signals | undefined;
  const handler = (signal: NodeJS.Signals): void => {
    if (firstSignal === undefined) {
      firstSignal = signal;
      resolveFirst(signal);
    } else resolveAgain(signal);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    first,
    again,
    received: () => firstSignal,
    release() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    }
  };
}

/** Resolves with the name of the first SIGINT or SIGTERM (and handles no other). */
export async function untilSignal(): Promise<NodeJS.Signals> {
  const signals = stopSignals();
  try {
    return await signals.first;
  } finally {
    signals.release();
  }
}
