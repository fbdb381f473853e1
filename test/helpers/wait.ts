/**
 * The one way tests wait: every wait has a bound, and fails with what did not
 * happen. Imports nothing of the library, so that helpers used under Deno
 * (threads.ts) can wait the same way.
 */
import { once, type EventEmitter } from 'node:events';

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

/** A promise with a bound: rejects with "<what> did not happen in N ms" when it has not settled by then. */
export async function settles<T>(what: string, promise: Promise<T>, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen in ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, bound]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A bound for a loop that polls by itself (a read loop that yields with
 * setImmediate): check() throws "<what> did not happen in N ms" once `ms`
 * have passed since the deadline was made.
 */
export function deadline(what: string, ms = WAIT_MS): { check(): void } {
  const end = Date.now() + ms;
  return {
    check() {
      if (Date.now() > end) throw new Error(`${what} did not happen in ${ms} ms`);
    },
  };
}
