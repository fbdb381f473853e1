/**
 * The types of a console stream's events and of its shutdown's outcome.
 */
import type { CodedError, SystemError } from '../errors';

/** A write()'s callback. */
export type WriteCallback = (err?: Error | null) => void;

/** The error a write gets when shutdown() leaves it unfinished. */
export interface ShutdownError extends Error {
  code: 'ERR_CONSOLE_SHUTDOWN';
  /** Bytes of this write() that never reached the kernel. */
  bytesNotWritten: number;
  fd: number;
}

/** What {@link KqueueConsole.shutdown} resolves with. */
export interface ShutdownResult {
  /** Bytes of the writes that shutdown failed (each got `ERR_CONSOLE_SHUTDOWN`); 0 when every write went out. */
  bytesNotWritten: number;
}

/**
 * The events a {@link KqueueConsole} types strictly: a listener that takes
 * other arguments is a compile error. The rest of `Duplex`'s events
 * (`'end'`, `'close'`, `'drain'`, ...) are typed as Node types them.
 */
export interface KqueueConsoleEvents {
  /**
   * Bytes read from the fd. (A string after `setEncoding()`: such a
   * stream's listeners take `Buffer | string`.)
   */
  data: [chunk: Buffer];
  /** The other side went away (a read said EIO); see {@link KqueueConsole.hungUp}. */
  hangup: [];
  /** A failure of the system: never for shutdown() or destroy(), which the caller chose. */
  error: [err: SystemError | CodedError];
}

/** The events of `Duplex` that keep Node's typing. */
export type DuplexEvent = 'close' | 'drain' | 'end' | 'finish' | 'pause' | 'pipe' | 'readable' | 'resume' | 'unpipe';

/**
 * Any other event: one of Duplex's, any symbol, or a `string` that is not a
 * literal. A misspelled literal is a compile error, and the class stays
 * assignable to `Duplex` (whose catch-all takes `string | symbol`).
 */
export type OtherEvent<E> = E extends keyof KqueueConsoleEvents ? never : E extends DuplexEvent | symbol ? E : string extends E ? E : never;
/** A listener of one of {@link KqueueConsoleEvents}. */
export type Listener<K extends keyof KqueueConsoleEvents> = (...args: KqueueConsoleEvents[K]) => void;
/** A listener of an event typed as Node types it: its arguments may be anything. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Node's own EventEmitter typing; unknown[] would refuse typed listeners.
export type AnyListener = (...args: any[]) => void;
