/**
 * The shapes of the library's errors, and the two functions every error of
 * its TypeScript side is made with: systemError() turns the native side's
 * {errno, syscall} into a Node-style system error (addon/binding.ts's
 * lastError() reads them from the addon), and
 * codedError() makes an error with one of the stable {@link ErrorCode}s;
 * each message is written where its error is raised. Argument checks are
 * in validators.ts. The addon's own checks (native/addon/args.h) throw
 * ERR_INVALID_ARG_TYPE for a malformed internal call, which validation here
 * keeps a user's call from making.
 */
import * as os from 'node:os';
import * as util from 'node:util';

/** An error from a system call, shaped like Node's own (`read EIO`). */
export interface SystemError extends Error {
  /** The errno name, e.g. `EIO`. */
  code: string;
  /** Node's (negative) errno number, e.g. -5 for EIO on Linux. */
  errno: number;
  /** The system call, e.g. `read`. */
  syscall: string;
  fd?: number;
}

/** An error raised for misuse or state, with one of {@link ErrorCode}. */
export interface CodedError<C extends ErrorCode = ErrorCode> extends Error {
  code: C;
}

/** The library's own stable error codes (errno names are used for kernel failures). */
export type ErrorCode =
  | 'ERR_ADDON_NOT_LOADED'
  | 'ERR_KQUEUER_CLOSED'
  | 'ERR_CONSOLE_SHUTDOWN'
  | 'ERR_CONSOLE_CLOSED'
  | 'ERR_NOT_POLLABLE'
  | 'ERR_KQUEUE_NOT_POLLABLE'
  | 'ERR_WAKEUP_UNAVAILABLE'
  | 'ERR_STREAM_DESTROYED'
  | 'ERR_EXPECT_TIMEOUT'
  | 'ERR_EXPECT_EOF'
  | 'ERR_HARNESS_CLOSED'
  | 'ERR_NO_SHELL_INTEGRATION'
  | 'ERR_UNSAFE_RECORDING_DIR'
  | 'ERR_INVALID_STATE'
  | 'ERR_SCREEN_UNAVAILABLE'
  | 'ERR_NO_SESSION'
  | 'ERR_SESSIONS_FULL'
  | 'ERR_SERVER_CLOSED'
  | 'ERR_PROTOCOL'
  | 'ERR_INVALID_ARG_TYPE'
  | 'ERR_INVALID_ARG_VALUE'
  | 'ERR_INCOMPATIBLE_OPTION_PAIR'
  | 'ERR_INVALID_RETURN_VALUE'
  | 'ERR_UNKNOWN_SIGNAL'
  | 'ERR_OUT_OF_RANGE';

/**
 * This platform's errno numbers by name (os.constants.errno), for those
 * libuv has no name for: util.getSystemErrorName() knows only libuv's
 * errors, and says "Unknown system error -8" for ENOEXEC.
 */
const ERRNO_NAMES = new Map<number, string>();
for (const [name, n] of Object.entries(os.constants.errno)) if (!ERRNO_NAMES.has(n)) ERRNO_NAMES.set(n, name);

/** The name of a positive errno: libuv's (`EAGAIN` for 11), else the platform's, else `EUNKNOWN`. */
export function errnoName(errno: number): string {
  const n = Math.abs(errno);
  let name: string | undefined;
  try {
    name = util.getSystemErrorName(-n);
  } catch {
    // Not an errno libuv can map (Bun and Deno throw where Node answers).
  }
  if (name !== undefined && /^E[A-Z0-9]+$/.test(name)) return name;
  return ERRNO_NAMES.get(n) ?? 'EUNKNOWN';
}

/**
 * Builds the error for a failed system call. `errno` is the positive C errno
 * the native side reports; the error carries Node's negative form.
 */
export function systemError(errno: number, syscall: string, fd?: number): SystemError {
  const code = errnoName(errno);
  const err = new Error(`${syscall} ${code}`) as SystemError;
  err.code = code;
  err.errno = -Math.abs(errno);
  err.syscall = syscall;
  if (fd !== undefined) err.fd = fd;
  return err;
}

/** An error with one of the library's own codes, and `props` on it. */
export function codedError<C extends ErrorCode, P extends object = object>(code: C, message: string, props?: P): CodedError<C> & P {
  const Ctor =
    code === 'ERR_OUT_OF_RANGE' ? RangeError : code.startsWith('ERR_INVALID_ARG') || code === 'ERR_UNKNOWN_SIGNAL' ? TypeError : Error;
  return Object.assign(new Ctor(message), { code }, props) as CodedError<C> & P;
}

/** ERR_KQUEUER_CLOSED, for a call that needs its Kqueuer open. */
export function kqueuerClosed(): CodedError<'ERR_KQUEUER_CLOSED'> {
  return codedError('ERR_KQUEUER_CLOSED', 'the Kqueuer is closed');
}
