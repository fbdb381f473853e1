/**
 * How a Kqueuer's event loop learns that its kqueue has events: the modes,
 * and which one a Kqueuer uses in this runtime.
 */
import { codedError } from '../errors';
import { validateOneOf } from '../validators';

/**
 * How the event loop learns that the kqueue has events.
 * - `'poll'`: the loop polls the kqueue fd itself (one wake-up per batch, no
 *   thread of the library's own). Needs a kqueue fd that poll(2) reports
 *   readable, as on macOS, FreeBSD and Linux (the built-in emulation).
 * - `'thread'`: a waiter thread blocks in kevent() and hands each batch to the
 *   loop (two wake-ups per batch). Works with any kqueue, libkqueue's too.
 * - `'tsfn'`: the same waiter thread, handing each batch over through a
 *   Node-API thread-safe function instead of libuv. For runtimes that load
 *   Node-API addons but have no libuv (Bun, Deno); works under Node too.
 * - `'auto'` (the default): under Bun and Deno, `'tsfn'`; elsewhere `'poll'`
 *   when a probe of the new kqueue finds its fd pollable, else `'thread'`.
 */
export type Wakeup = 'auto' | 'poll' | 'thread' | 'tsfn';

const WAKEUPS: readonly string[] = ['auto', 'poll', 'thread', 'tsfn'] satisfies Wakeup[];

/**
 * The runtime that loaded the addon, when it is one without Node's libuv:
 * Bun and Deno implement Node-API, but Bun panics on the first uv_ call
 * (oven-sh/bun#18546), and Deno's are shims under which the libuv modes'
 * async context is a fatal error at teardown (napi_async_destroy makes a V8
 * handle where there is no handle scope). Read from process.versions, so
 * that nothing of libuv is called to find out.
 */
export function runtimeWithoutLibuv(): 'bun' | 'deno' | null {
  if (process.versions.bun !== undefined) return 'bun';
  if (process.versions.deno !== undefined) return 'deno';
  return null;
}

/**
 * @internal The wake-up a Kqueuer uses: `wanted` (options.wakeup), else the
 * environment's KQUEUE_CONSOLE_WAKEUP, else 'auto'; under a runtime without
 * libuv, 'tsfn'.
 */
export function wakeupOf(wanted: unknown): Wakeup {
  const fromEnv = process.env.KQUEUE_CONSOLE_WAKEUP;
  const value: unknown = wanted ?? (fromEnv === undefined || fromEnv === '' ? 'auto' : fromEnv);
  validateOneOf(value, wanted === undefined ? 'process.env.KQUEUE_CONSOLE_WAKEUP' : 'options.wakeup', WAKEUPS);
  const runtime = runtimeWithoutLibuv();
  if (runtime === null) return value as Wakeup;
  if (value === 'poll' || value === 'thread') {
    throw codedError(
      'ERR_WAKEUP_UNAVAILABLE',
      `wakeup '${value}' needs Node's libuv, which ${runtime} does not have; use 'auto' or 'tsfn'`,
    );
  }
  return 'tsfn';
}
