/**
 * The native addon's surface, typed in one place, and its loader.
 *
 * Native functions and methods do not throw on a failed system call: they
 * return -1 (or null) and leave the errno and the system call's index in
 * `status`. The stream code reads `status` directly on its hot path;
 * everything else goes through {@link lastError}. The one exception is the
 * `Kqueue` constructor, which has no return value to fail with: it throws an
 * Error carrying `errno` and `syscall`, which kqueuer/kqueuer.ts's
 * openKqueue() turns into a system error. A malformed internal call throws
 * ERR_INVALID_ARG_TYPE (native/addon/args.h). This interface is also what a fake
 * used by deterministic tests of the stream state machine implements.
 */
import { systemError, type SystemError } from '../errors';
import { loadAddon } from './loader';

/** Readiness bits delivered per registration id. */
export interface ReadinessBits {
  readonly READABLE: number;
  readonly WRITABLE: number;
  /** The other side hung up (kqueue's EV_EOF); counts as both readable and writable. */
  readonly HANGUP: number;
  /** The process spawned under this id has exited (EVFILT_PROC, NOTE_EXIT). */
  readonly EXITED: number;
}

/**
 * Called once per loop wake-up with `count` (id, bits) pairs in `batch`.
 * `batch` is reused by the next call: read it, never keep it. A non-zero
 * `waitErrno` means waiting stopped because polling or draining the kqueue
 * failed.
 */
export type EventsCallback = (batch: Float64Array, count: number, waitErrno: number) => void;

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

/** The mode a kqueue runs in, once chosen (native/core/waker.h). */
export type WakeupMode = Exclude<Wakeup, 'auto'>;

/** One dedicated kqueue, polled by the loop of the thread that made it. */
export interface NativeKqueue {
  /**
   * Registers `fd` for READ, edge-triggered, under `id` (> 0, never
   * reused), after setting O_NONBLOCK. Returns 1 if the fd was already
   * non-blocking, 0 if this call made it so, -1 on failure.
   */
  add(fd: number, id: number): number;
  /**
   * Adds (`on`) or removes WRITE for `fd`, edge-triggered, under `id`. Added
   * while a write waits for room; an fd with room now is reported at once.
   * Returns 0 or -1.
   */
  watchWrite(fd: number, id: number, on: boolean): number;
  /** Removes the filters of `fd` (ENOENT only when READ was not there). Returns 0 or -1. */
  remove(fd: number): number;
  /**
   * Forks and execs a program on the pty slave `slaveFd` (native/core/spawn.cc):
   * a session of its own with the slave as its controlling terminal and
   * fds 0-2, the first of `paths` that execve() takes, `cwd` (null: the
   * parent's). Its exit is reported under `id` as EXITED. Returns the pid,
   * or -1 (the failing step in status: execve, chdir, fork, ...).
   */
  spawn(id: number, paths: string[], argv: string[], envp: string[], cwd: string | null, slaveFd: number): number;
  /**
   * waitpid() for a process spawned here: [exitCode, signal] once reaped
   * (exitCode -1 after a signal, signal 0 after an exit), null while it
   * runs (`block`: wait instead), -1 for one that is not a child here.
   */
  reap(pid: number, block: boolean): [number, number] | null | -1;
  /**
   * Keeps the event loop alive: uv_ref() of the waker's handle (the
   * uv_poll_t in poll mode, the uv_async_t in thread mode), or
   * napi_ref_threadsafe_function() in tsfn mode (native/core/waker.cc).
   */
  ref(): void;
  /** Lets the event loop exit (the same handle, unref'd); the initial state. */
  unref(): void;
  /** Stops polling and closes everything. Idempotent. */
  close(): void;
  /** The kqueue fd, or -1 once closed. */
  readonly fd: number;
  /** How the loop is woken (native/core/waker.h), or null once closed. */
  readonly wakeup: WakeupMode | null;
}

export interface NativeBinding {
  /** [errno, index into `syscalls`] of the last failure or short read/write. */
  readonly status: Int32Array;
  readonly syscalls: readonly string[];
  readonly bits: ReadinessBits;
  /** Where kevent() comes from: the kernel's, libkqueue's or the Linux emulation's (kevent_linux.cc). */
  readonly backend: 'kernel' | 'libkqueue' | 'emulation';
  /** The addon's numbers for the wake-up modes (native/core/waker.h's Wakeup); see the Kqueuer's `Wakeup`. */
  readonly wakeups: Readonly<Record<Wakeup, number>>;
  /** `wakeup`: one of `wakeups`; `poll` fails with ENOTSUP (syscall `poll`) where the kqueue's fd is not pollable. */
  readonly Kqueue: new (onEvents: EventsCallback, wakeup?: number) => NativeKqueue;

  /**
   * Reads into buf[off, off+len) until it is full or the fd says stop.
   * Returns the count; when short, status[0] is the errno (EAGAIN, EIO, ...)
   * or 0 for end of file. With `noWait`, once some bytes are in it also
   * stops (as EAGAIN) when FIONREAD says nothing is queued, rather than let
   * a tty read wait for the kernel to move more in. With `stopSmall`, it
   * also stops (as EAGAIN) after a read of under 1 KiB that did not fill
   * the buffer: only for fds whose reads hand out all that is queued (a pty
   * master), where the fd is then empty and new bytes raise a new edge.
   */
  read(fd: number, buf: Uint8Array, off: number, len: number, noWait?: boolean, stopSmall?: boolean): number;
  /** Writes buf[off, off+len) until done or the fd says stop; count back, errno in status[0] when short. */
  write(fd: number, buf: Uint8Array, off: number, len: number): number;
  /** writev(2) of `chunks` after skipping `skip` bytes; as write(). */
  writev(fd: number, chunks: readonly Uint8Array[], skip: number): number;
  /** fcntl(F_DUPFD_CLOEXEC): a new fd for the same open file, owned by the library; or -1. */
  dup(fd: number): number;
  /** The library owns `fd` from now on: closed by closeOwned(), or when the environment goes away. */
  own(fd: number): void;
  /** Closes an fd the library owns: 0, or -1 (EBADF for one it does not own). */
  closeOwned(fd: number): number;
  /** fstat's file type: 1 a regular file, 2 a directory, 0 anything else; -1 on failure. */
  fileKind(fd: number): number;
  /** The uid of the peer of a connected Unix socket (SO_PEERCRED, getpeereid), or -1. */
  peerUid(fd: number): number;
  /** Sets or clears O_NONBLOCK; returns 1/0 for the previous state, or -1. */
  setNonBlocking(fd: number, on: boolean): number;

  /** posix_openpt + grantpt + unlockpt + open of the slave: [master, slave, slavePath] (both owned), or null. */
  openPty(): [number, number, string] | null;
  /** TIOCGWINSZ: [rows, cols, xpixel, ypixel], or null. */
  getWinsize(fd: number): [number, number, number, number] | null;
  /** TIOCSWINSZ: 0 or -1. */
  setWinsize(fd: number, rows: number, cols: number, xpixel: number, ypixel: number): number;
  /** tcgetattr: the struct termios as bytes, or null. */
  tcgetattr(fd: number): Buffer | null;
  /** tcsetattr(TCSANOW): 0 or -1. */
  tcsetattr(fd: number, termios: Uint8Array): number;
  /** A copy of `termios` with cfmakeraw applied, and OPOST set again when `opost`. */
  makeRaw(termios: Uint8Array, opost: boolean): Buffer;
  /** A copy of `termios` with ONLCR set (`on`) or cleared. */
  withONLCR(termios: Uint8Array, on: boolean): Buffer;
  /** grantpt + unlockpt on a pty master: 0 or -1. */
  unlockPty(fd: number): number;
  /** A copy of `termios` with ECHO cleared. */
  withoutEcho(termios: Uint8Array): Buffer;
  /** The VEOF character of `termios` when ICANON is set, else -1. */
  eofChar(termios: Uint8Array): number;
  isatty(fd: number): boolean;
  /** ttyname_r: the path, or null. */
  ttyname(fd: number): string | null;
  /** The slave path of a pty master, or null. */
  ptsname(fd: number): string | null;
  /**
   * Sends `signal` (0: only looks) to every live process of the session
   * `sid` (native/core/session.h); once `leaderReaped`, nothing when a
   * process has taken the pid `sid` anew. The number signalled, or -1.
   */
  signalSession(sid: number, signal: number, leaderReaped: boolean): number;
}

let loaded: { exports: NativeBinding; path: string } | undefined;

/** The addon, loaded once per Node environment (each worker has its own). */
export function binding(): NativeBinding {
  if (loaded === undefined) {
    const addon = loadAddon();
    // A copy with fast properties: the addon's exports object is a dictionary
    // (%HasFastProperties is false), and each load of io.read or io.status
    // from one is an inline-cache miss, even in optimized code.
    loaded = { exports: Object.freeze({ ...(addon.exports as NativeBinding) }), path: addon.path };
  }
  return loaded.exports;
}

/** The file the addon was loaded from (see loader.ts for the order). */
export function addonPath(): string {
  binding();
  return loaded!.path;
}

/** The error for the failure the native side just recorded in `status`. */
export function lastError(native: NativeBinding, fd?: number): SystemError {
  return systemError(native.status[0], native.syscalls[native.status[1]] || 'unknown', fd);
}
