/**
 * Every error the library raises: Node-style system errors built in one
 * place from {errno, syscall}, and the library's own stable codes.
 */
import * as util from 'node:util';
import type { NativeBinding } from './binding';

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
export interface CodedError extends Error {
  code: ErrorCode;
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
  | 'ERR_SCREEN_UNAVAILABLE'
  | 'ERR_INVALID_ARG_TYPE'
  | 'ERR_INVALID_ARG_VALUE'
  | 'ERR_INCOMPATIBLE_OPTION_PAIR'
  | 'ERR_INVALID_RETURN_VALUE'
  | 'ERR_UNKNOWN_SIGNAL'
  | 'ERR_OUT_OF_RANGE';

function errnoName(errno: number): string {
  try {
    return util.getSystemErrorName(-Math.abs(errno));
  } catch {
    return `Unknown system error ${errno}`;
  }
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

/** The error for the failure the native side just recorded in `status`. */
export function lastError(native: NativeBinding, fd?: number): SystemError {
  return systemError(native.status[0], native.syscalls[native.status[1]] || 'unknown', fd);
}

/** An error with one of the library's own codes. */
export function codedError(code: ErrorCode, message: string, props?: Record<string, unknown>): CodedError {
  const Ctor =
    code === 'ERR_OUT_OF_RANGE' ? RangeError : code.startsWith('ERR_INVALID_ARG') || code === 'ERR_UNKNOWN_SIGNAL' ? TypeError : Error;
  const err = new Ctor(message) as CodedError;
  err.code = code;
  if (props) Object.assign(err, props);
  return err;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return `an instance of ${value.constructor?.name ?? 'Object'}`;
  if (typeof value === 'function') return 'a function';
  return `type ${typeof value} (${util.inspect(value)})`;
}

/**
 * Validates a file descriptor argument: an integer in [0, 2^31).
 * Throws ERR_INVALID_ARG_TYPE for a non-number, ERR_OUT_OF_RANGE otherwise.
 */
export function validateFd(value: unknown, name = 'fd'): number {
  if (typeof value !== 'number') {
    throw codedError('ERR_INVALID_ARG_TYPE', `The "${name}" argument must be of type number. Received ${describe(value)}`);
  }
  if (!Number.isInteger(value) || value < 0 || value > 0x7fffffff) {
    throw codedError(
      'ERR_OUT_OF_RANGE',
      `The value of "${name}" is out of range. It must be an integer >= 0 and <= 2147483647. Received ${value}`,
    );
  }
  return value;
}

/** Validates an integer argument in [min, max]. */
export function validateInteger(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number') {
    throw codedError('ERR_INVALID_ARG_TYPE', `The "${name}" argument must be of type number. Received ${describe(value)}`);
  }
  if (!Number.isInteger(value) || value < min || value > max) {
    throw codedError(
      'ERR_OUT_OF_RANGE',
      `The value of "${name}" is out of range. It must be an integer >= ${min} and <= ${max}. Received ${value}`,
    );
  }
  return value;
}

/** Throws ERR_INVALID_ARG_TYPE unless `value` is a function. */
export function validateFunction(value: unknown, name: string): void {
  if (typeof value !== 'function') {
    throw codedError('ERR_INVALID_ARG_TYPE', `The "${name}" argument must be of type function. Received ${describe(value)}`);
  }
}

/** Throws ERR_INVALID_ARG_TYPE unless `value` is a string. */
export function validateString(value: unknown, name: string): string {
  if (typeof value !== 'string') {
    throw codedError('ERR_INVALID_ARG_TYPE', `The "${name}" argument must be of type string. Received ${describe(value)}`);
  }
  return value;
}

/** Throws ERR_INVALID_ARG_TYPE unless `value` is a plain object (not null, not an array). */
export function validateObject(value: unknown, name: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw codedError('ERR_INVALID_ARG_TYPE', `The "${name}" argument must be of type object. Received ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

/** Throws ERR_INVALID_ARG_TYPE unless `value` is a boolean. */
export function validateBoolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') {
    throw codedError('ERR_INVALID_ARG_TYPE', `The "${name}" argument must be of type boolean. Received ${describe(value)}`);
  }
  return value;
}

/**
 * A string that goes to execve(2): ERR_INVALID_ARG_TYPE unless a string,
 * ERR_INVALID_ARG_VALUE when it holds a NUL byte (C would cut it there), as
 * child_process.spawn() checks.
 */
export function validateCString(value: unknown, name: string): string {
  validateString(value, name);
  if ((value as string).includes('\u0000')) {
    throw codedError(
      'ERR_INVALID_ARG_VALUE',
      `The "${name}" argument must be a string without null bytes. Received ${util.inspect(value)}`,
    );
  }
  return value as string;
}
