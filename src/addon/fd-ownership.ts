/**
 * Who owns which fd: decided here and nowhere else.
 *
 * - A Console owns its fd when the library opened it (openPty()) or when it
 *   was made with `autoClose: true` (Console.fromFd(), ptyFromFd()); its
 *   close() closes it. Otherwise the fd stays the caller's.
 * - A console stream (Kqueuer.add()) closes its fd when destroyed if it was
 *   added with `autoClose`, by default when its Console owns the fd. An fd
 *   number added with `autoClose: true` (and fromNodePty()'s duplicate of
 *   node-pty's master) is the library's from add() on.
 * - Any other fd is the caller's: never closed here. A stream that made it
 *   non-blocking hands it back blocking when destroyed (Kqueuer's release).
 * - Every fd the library owns is in the native addon's owned set
 *   (native/addon_data.h, AddonData::owned): closeOwned() closes only those, and
 *   the environment's cleanup hook closes what is left when a Worker or the
 *   process goes away, so a terminated Worker leaks nothing.
 */
import { binding, lastError } from './binding';

/**
 * What ownership needs of a Console (tty/console.ts): whether it owns its fd,
 * and its close(). Named here so that this layer does not import the one above.
 */
export interface FdOwner {
  readonly autoClose: boolean;
  close(): void;
}

/** Whether `tty` is a Console that owns its fd. */
export function consoleOwnsFd<T extends FdOwner>(tty: T | null): tty is T {
  return tty !== null && tty.autoClose;
}

/** Whether a stream over `fd` closes it when destroyed: the option, else whether its Console owns it. */
export function streamClosesFd(tty: FdOwner | null, autoClose: boolean | undefined): boolean {
  return autoClose ?? consoleOwnsFd(tty);
}

/** The library owns `fd` from now on (closed by closeOwned(), or at environment teardown). */
export function adoptFd(fd: number): void {
  binding().own(fd);
}

/** Closes an fd the library owns; throws the error close(2) gave (EBADF for one it does not own). */
export function closeOwned(fd: number): void {
  const native = binding();
  if (native.closeOwned(fd) !== 0) throw lastError(native, fd);
}

/**
 * Closes fds the library owns on a failure path, where the error being
 * thrown is the one to report: a second failure from close() would hide it.
 */
export function discardOwned(...fds: number[]): void {
  const native = binding();
  for (const fd of fds) native.closeOwned(fd);
}

/**
 * A stream that closes its fd was destroyed: close it, through its Console
 * when the Console owns it (so that the Console knows it is closed).
 */
export function closeStreamFd(fd: number, tty: FdOwner | null): void {
  if (consoleOwnsFd(tty)) tty.close();
  else closeOwned(fd);
}
