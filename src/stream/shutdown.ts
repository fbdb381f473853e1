/**
 * One console's shutdown (Go's `Shutdown(close)`), as a small state machine:
 * `closing` while the caller's close callback runs (a promise it returns is
 * awaited), `woken` once the console has been woken (its reader read out, its
 * waiting writes gone or failed), `settled` once the console says both sides
 * are done. Whatever close does, the console is woken and the promise
 * settles: with the console's result, or rejected with what close threw.
 */
import type { ShutdownResult } from './events';

export type ShutdownPhase = 'closing' | 'woken' | 'settled';

/** What a shutdown needs of its console. */
export interface ShutdownHost {
  /** Wakes every waiter: read what the fd holds and end, finish or fail the writes. */
  wake(): void;
  /** Whether both sides are done (readable side ended, no write pending or owed its callback). */
  done(): boolean;
  result(): ShutdownResult;
}

export class Shutdown {
  readonly promise: Promise<ShutdownResult>;
  private phase: ShutdownPhase = 'closing';
  private failure: { err: unknown } | null = null;
  private resolve!: (result: ShutdownResult) => void;
  private reject!: (err: unknown) => void;

  constructor(private readonly host: ShutdownHost) {
    this.promise = new Promise<ShutdownResult>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  /** Whether the console has been woken: events after that are ignored. */
  get woken(): boolean {
    return this.phase !== 'closing';
  }

  /** Calls the close callback, then wakes the console. */
  start(close: () => unknown): void {
    let result: unknown;
    try {
      result = close();
    } catch (err) {
      this.wake(err, 'close callback threw');
      return;
    }
    if (isThenable(result)) {
      result.then(
        () => this.wake(),
        (err: unknown) => this.wake(err, 'close callback rejected'),
      );
    } else {
      this.wake();
    }
  }

  /** Settles the promise if the console is done; called whenever that may have become true. */
  check(): void {
    if (this.phase !== 'woken' || !this.host.done()) return;
    this.phase = 'settled';
    if (this.failure !== null) this.reject(this.failure.err);
    else this.resolve(this.host.result());
  }

  private wake(err?: unknown, fallback?: string): void {
    if (fallback !== undefined) this.failure = { err: err ?? new Error(fallback) };
    this.phase = 'woken';
    this.host.wake();
    this.check();
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}
