/**
 * The options of {@link Kqueuer.add}: their types, their validation, and every
 * default and limit as a named constant.
 */
import { codedError } from '../errors';
import {
  invalidArgType,
  invalidArgValue,
  validateBoolean,
  validateFunction,
  validateInteger,
  validateObject,
  validateOptions,
} from '../validators';

/** The readable and writable sides' default high-water marks, in bytes (as `net.Socket`'s). */
export const DEFAULT_HIGH_WATER_MARK = 64 * 1024;
/** The largest high-water mark accepted. */
export const MAX_HIGH_WATER_MARK = 2 ** 30;
/** Default size of the buffers reads go into; a pty hands out ~4 KiB per read(2), so one read loop fills several. */
export const DEFAULT_READ_BUFFER_SIZE = 64 * 1024;
export const MIN_READ_BUFFER_SIZE = 4 * 1024;
export const MAX_READ_BUFFER_SIZE = 16 * 1024 * 1024;

/** Options of {@link Kqueuer.add}. */
export interface KqueueConsoleOptions {
  /**
   * Whether destroying the stream closes the fd. Default: true for a Console
   * that owns its fd (from openPty()), false for an fd number.
   */
  autoClose?: boolean;
  /** The readable side's high-water mark in bytes. Default 64 KiB. */
  readableHighWaterMark?: number;
  /** The writable side's high-water mark in bytes. Default 64 KiB. */
  writableHighWaterMark?: number;
  /**
   * Size of the buffers reads go into, in bytes (4 KiB to 16 MiB). By default
   * a console reads into 64 KiB buffers that its Kqueuer's consoles share
   * (each chunk is a slice of one, as `Buffer.allocUnsafe()` slices Node's
   * pool, so `chunk.buffer` can hold other consoles' bytes); a console given
   * a size reads into buffers of its own.
   */
  readBufferSize?: number;
  /**
   * Reads go into memory the caller provides and reuses, and each is handed
   * to `onread.callback` instead of to the stream (as `net.Socket`'s
   * `onread`): no Buffer is made per read, so nothing is left for the
   * garbage collector. The readable side gives no data (`'data'` is never
   * emitted), but still ends, emits `'hangup'`, and drains at shutdown.
   * Reading starts when the console is added. Not with `readBufferSize`.
   */
  onread?: OnRead;
}

/** Each option of {@link KqueueConsoleOptions} once: the compiler fails on one missing or extra. */
const OPTION_NAMES = {
  autoClose: true,
  readableHighWaterMark: true,
  writableHighWaterMark: true,
  readBufferSize: true,
  onread: true,
} as const satisfies Record<keyof KqueueConsoleOptions, true>;

/** @internal The names of {@link KqueueConsoleOptions}, for a caller that passes them on (spawn()). */
export const CONSOLE_OPTION_KEYS = Object.keys(OPTION_NAMES) as readonly (keyof KqueueConsoleOptions)[];

/** The `onread` option of {@link KqueueConsoleOptions}. */
export interface OnRead {
  /**
   * The memory each read goes into, from its start: one buffer reused for
   * every read, or a function that returns it, called for the first read and
   * again after each callback (the buffer just handed over is then the
   * caller's to keep), as `net.Socket` does.
   */
  buffer: Uint8Array | (() => Uint8Array);
  /**
   * Called after each read that got bytes: they are `buf[0, bytesRead)`,
   * and a `buffer` that is not a function is read into again after the
   * callback returns. Returning `false` pauses reading, as `pause()` does;
   * `resume()` goes on. At shutdown, what the fd still holds is delivered
   * whatever the callback returns.
   */
  callback(bytesRead: number, buf: Uint8Array): boolean | void;
}

/** @internal Validates {@link KqueueConsoleOptions}. */
export function validateConsoleOptions(options: unknown): KqueueConsoleOptions {
  const o = validateOptions<KqueueConsoleOptions>(options);
  if (o === undefined) return {};
  if (o.autoClose !== undefined) validateBoolean(o.autoClose, 'options.autoClose');
  if (o.readableHighWaterMark !== undefined)
    validateInteger(o.readableHighWaterMark, 'options.readableHighWaterMark', 0, MAX_HIGH_WATER_MARK);
  if (o.writableHighWaterMark !== undefined)
    validateInteger(o.writableHighWaterMark, 'options.writableHighWaterMark', 0, MAX_HIGH_WATER_MARK);
  if (o.readBufferSize !== undefined)
    validateInteger(o.readBufferSize, 'options.readBufferSize', MIN_READ_BUFFER_SIZE, MAX_READ_BUFFER_SIZE);
  if (o.onread !== undefined) validateOnRead(o.onread, o.readBufferSize !== undefined);
  return o;
}

function validateOnRead(onread: unknown, withReadBufferSize: boolean): void {
  const { buffer, callback } = validateObject<OnRead>(onread, 'options.onread');
  if (typeof buffer !== 'function' && !(buffer instanceof Uint8Array)) {
    throw invalidArgType('options.onread.buffer', 'a Uint8Array or a function', buffer);
  }
  if (buffer instanceof Uint8Array && buffer.length === 0) throw invalidArgValue('options.onread.buffer', 'not be empty', buffer);
  validateFunction(callback, 'options.onread.callback');
  if (withReadBufferSize) {
    throw codedError(
      'ERR_INCOMPATIBLE_OPTION_PAIR',
      'Option "onread" cannot be used with "readBufferSize"; onread.buffer is where reads go.',
    );
  }
}
