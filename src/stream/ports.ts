/**
 * @internal What a console stream is given: the native I/O calls, and a
 * narrow registration with its Kqueuer (so that the stream's state machine
 * can also be driven by fakes in a deterministic test).
 */
import type { NativeBinding } from '../addon/binding';
import type { Console } from '../tty/console';
import type { KqueueConsoleOptions } from './options';
import type { ReadBuffer } from './read-buffer';

/** @internal The native calls the stream makes (the binding, or a fake in a test). */
export type ConsoleIo = Pick<NativeBinding, 'read' | 'write' | 'writev' | 'status' | 'bits'>;

/** @internal What a console needs of its Kqueuer. */
export interface Registration {
  /** Whether the console waits for an edge: the Kqueuer keeps the loop alive while any does. */
  setWaiting(waiting: boolean): void;
  /**
   * Whether WRITE edges are wanted: on while a write waits for room, off
   * when one comes with no write waiting. Returns 0, or an errno.
   */
  watchWrite(on: boolean): number;
  /** Stops the events (containerd/console's `CloseConsole`); the default shutdown close. */
  deregister(): void;
  /** The console is gone: deregister, and give the fd back as it was if it stays open. */
  release(fdStillOpen: boolean): void;
}

/** @internal How the Kqueuer makes a console. */
export interface KqueueConsoleInit {
  fd: number;
  io: ConsoleIo;
  registration: Registration;
  console: Console | null;
  /** Whether destroying the stream closes the fd (addon/fd-ownership.ts decides). */
  autoClose: boolean;
  options: KqueueConsoleOptions;
  /** The buffer to read into when options.readBufferSize is not given (the Kqueuer's shared one). */
  readBuffer?: ReadBuffer;
}

/** @internal The Kqueuer delivers readiness bits through this method. */
export const kReady = Symbol('kqueue-console.ready');

/**
 * spawn()'s call on its console once the program has exited and shutdown has
 * read the pty out: the fd closes now (see KqueueConsole's), the stream keeps
 * what it read.
 */
export const kReleaseFd = Symbol('kqueue-console.releaseFd');
