/**
 * Test fixtures that clean up after themselves, and the one way tests wait.
 * A fixture registers its teardown with the test that made it, so that a
 * failed assertion or a timeout cannot leak a Kqueuer, a pty or a stream into
 * the next test's fd counts.
 */
import { once, type EventEmitter } from 'node:events';
import { Kqueuer, openPty, type Pty } from '../../src/index';

/** What a fixture needs of a tap test. */
export interface Teardown {
  teardown(fn: () => unknown): void;
}

/** A Kqueuer, closed when the test ends (its consoles with it). */
export function kqueuerFor(t: Teardown): Kqueuer {
  const kq = new Kqueuer();
  t.teardown(() => kq.close());
  return kq;
}

/** A pty pair, both sides closed when the test ends if they are still open. */
export function ptyFor(t: Teardown): Pty {
  const pty = openPty();
  t.teardown(() => {
    pty.master.close();
    pty.slave.close();
  });
  return pty;
}

/** How long a wait may take before it fails, unless told otherwise. */
export const WAIT_MS = 10_000;

/**
 * The one "wait until" of the tests: resolves once `check()` is true, testing
 * it on each `event` of `on` (or every 10 ms when no emitter is given), and
 * rejects with "<what> did not happen in N ms" when `ms` pass first.
 */
export function waitUntil(
  what: string,
  check: () => boolean,
  options: { ms?: number; on?: EventEmitter; event?: string } = {},
): Promise<void> {
  const { ms = WAIT_MS, on, event = 'data' } = options;
  return new Promise<void>((resolve, reject) => {
    if (check()) {
      resolve();
      return;
    }
    let poll: NodeJS.Timeout | undefined;
    const done = (err?: Error): void => {
      clearTimeout(timer);
      clearInterval(poll);
      on?.off(event, test);
      if (err) reject(err);
      else resolve();
    };
    const test = (): void => {
      if (check()) done();
    };
    const timer = setTimeout(() => done(new Error(`${what} did not happen in ${ms} ms`)), ms);
    if (on !== undefined) on.on(event, test);
    else poll = setInterval(test, 10);
  });
}

/** events.once() with a bound: rejects with "<what> did not happen in N ms". */
export async function within<T extends unknown[] = unknown[]>(
  what: string,
  emitter: EventEmitter,
  event: string,
  ms = WAIT_MS,
): Promise<T> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), ms);
  try {
    return (await once(emitter, event, { signal: ac.signal })) as T;
  } catch (err) {
    if (ac.signal.aborted) throw new Error(`${what} did not happen in ${ms} ms`);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
