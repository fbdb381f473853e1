/**
 * @internal The harness's waits: each is checked again whenever what it
 * looks at changes (a read for the output, a parsed write for the screen),
 * never by a timer, and fails at its timeout or once it can no longer be met.
 */

/** `ERR_EXPECT_TIMEOUT` or `ERR_EXPECT_EOF` (ExpectError's codes). */
export type WaitFailure = 'ERR_EXPECT_TIMEOUT' | 'ERR_EXPECT_EOF';

/** What a wait looks at: the output (checked on each read) or the screen (on each parsed write). */
export type WaitsOn = 'output' | 'screen';

/** Where a wait was called from, as a stack's lines: formatted on first call. */
export type CallSite = () => string;

interface Waiter {
  on: WaitsOn;
  /** The wait can still be met after the output ended (waitForStable). */
  atEnd: boolean;
  check: () => boolean;
  fail: (code: WaitFailure, why: string) => void;
}

/** @internal What the waits need of their harness. */
export interface WaitsHost {
  /** Whether a screen parses the output: then screen waits end once it has parsed all of it. */
  readonly screened: boolean;
  /** The error a failed wait rejects with, made with the test's call site. */
  error(code: WaitFailure, message: string, site: CallSite): Error;
  /** A wait started: the loop is held while any runs. */
  hold(): void;
  release(): void;
}

/** @internal */
export class Waits {
  private readonly waiters = new Set<Waiter>();
  private outputEnded = false;
  /** The output has ended and the screen has parsed all of it. */
  private screenEnded = false;
  private failure: Error | null = null;

  constructor(private readonly host: WaitsHost) {}

  /** Whether the output has ended. */
  get ended(): boolean {
    return this.outputEnded;
  }

  /** What `on` looks at has changed: check its waits (all of them, without `on`). */
  changed(on?: WaitsOn): void {
    for (const w of this.waiters) {
      if (on !== undefined && w.on !== on && this.failure === null) continue;
      if (w.check()) continue;
      if (this.failure !== null) w.fail('ERR_EXPECT_EOF', `the stream failed (${this.failure.message})`);
      else if (this.endedFor(w.on) && !w.atEnd) w.fail('ERR_EXPECT_EOF', 'the output ended');
    }
  }

  /** The output ended; with a screen, its end follows with screenParsedAll(). */
  outputEnd(): void {
    this.outputEnded = true;
    // Without a screen every wait is on the output, and its end is theirs.
    this.changed('output');
  }

  /** The screen has parsed the output's last write. */
  screenParsedAll(): void {
    this.screenEnded = true;
    this.changed();
  }

  /** The stream failed: every wait fails with it. */
  streamFailed(err: Error): void {
    this.failure = err;
    this.changed();
  }

  /** Fails every wait still running with `why` (ERR_EXPECT_EOF). */
  failAll(why: string): void {
    for (const w of this.waiters) w.fail('ERR_EXPECT_EOF', why);
  }

  /**
   * Waits until `check` returns non-null, checked now and after each change
   * of what `on` looks at; fails after `timeout` ms (saying `missed` in it),
   * or when the output ends first (unless `atEnd`).
   */
  wait<T>(
    what: string,
    site: CallSite,
    timeout: number,
    check: () => T | null,
    on: WaitsOn,
    atEnd = false,
    missed = 'no match',
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      // Met already (a prompt that is back, text already read): no timer, no hold of the loop.
      const now = check();
      if (now !== null) {
        resolve(now);
        return;
      }
      const timer = setTimeout(() => waiter.fail('ERR_EXPECT_TIMEOUT', `${missed} in ${timeout} ms`), timeout);
      const waiter: Waiter = {
        on,
        atEnd,
        check: () => {
          const found = check();
          if (found === null) return false;
          done();
          resolve(found);
          return true;
        },
        fail: (code, why) => {
          done();
          reject(this.host.error(code, `${what}: ${why}`, site));
        },
      };
      const done = (): void => {
        clearTimeout(timer);
        if (this.waiters.delete(waiter)) this.host.release();
      };
      this.waiters.add(waiter);
      this.host.hold();
      if (this.failure !== null || (this.endedFor(on) && !atEnd)) this.changed();
    });
  }

  /** Whether what a wait looks at can change no more: the output has ended (and, for the screen, is parsed). */
  private endedFor(on: WaitsOn): boolean {
    return on === 'output' || !this.host.screened ? this.outputEnded : this.screenEnded;
  }
}
