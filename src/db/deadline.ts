/**
 * The time limit of one statement, and the caller's cancellation, as one abort signal. Its timer is
 * cleared and its listener removed the moment the statement ends (`end()`): a busy server holds no
 * timer and no signal for statements long finished (`AbortSignal.timeout` keeps its timer until it
 * fires, for the whole query timeout, and `AbortSignal.any` ties every signal together until then).
 */
export class Deadline {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private readonly caller: AbortSignal | undefined;
  private readonly onCallerAbort: () => void;
  private expired = false;

  constructor(timeoutMs: number, caller?: AbortSignal) {
    this.caller = caller;
    this.onCallerAbort = () => {
      this.controller.abort(caller?.reason);
    };
    this.timer = setTimeout(() => {
      this.expired = true;
      this.controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
    }, timeoutMs);
    this.timer.unref();
    if (caller?.aborted === true) this.onCallerAbort();
    else caller?.addEventListener('abort', this.onCallerAbort, { once: true });
  }

  /** Aborts when the time is up or the caller cancels, whichever comes first. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The time ran out first (not the caller's cancellation). */
  get timedOut(): boolean {
    return this.expired && this.caller?.aborted !== true;
  }

  end(): void {
    clearTimeout(this.timer);
    this.caller?.removeEventListener('abort', this.onCallerAbort);
  }
}
