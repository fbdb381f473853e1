/**
 * How a Kqueuer's event loop learns that its kqueue has events: the modes,
 * and which one a Kqueuer uses in this runtime.
 */
import type { Wakeup } from '../addon/binding';
import { codedError } from '../errors';
import { validateOneOf } from '../validators';

export type { Wakeup } from '../addon/binding';

const WAKEUPS = ['auto', 'poll', 'thread', 'tsfn'] as const satisfies readonly Wakeup[];

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
  const mode = validateOneOf(value, wanted === undefined ? 'process.env.KQUEUE_CONSOLE_WAKEUP' : 'options.wakeup', WAKEUPS);
  const runtime = runtimeWithoutLibuv();
  if (runtime === null) return mode;
  if (mode === 'poll' || mode === 'thread') {
    throw codedError('ERR_WAKEUP_UNAVAILABLE', `wakeup '${mode}' needs Node's libuv, which ${runtime} does not have; use 'auto' or 'tsfn'`);
  }
  return 'tsfn';
}
