/**
 * Argument validation, after Node's lib/internal/validators.js: each check
 * returns the value it accepted, and throws `ERR_INVALID_ARG_TYPE`,
 * `ERR_INVALID_ARG_VALUE` or `ERR_OUT_OF_RANGE` with Node's wording, where
 * a dotted name (`options.rows`) is a property and any other an argument.
 */
import * as os from 'node:os';
import * as util from 'node:util';
import { codedError, type CodedError } from './errors';

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'object') return `an instance of ${value.constructor?.name ?? 'Object'}`;
  if (typeof value === 'function') return 'a function';
  return `type ${typeof value} (${util.inspect(value)})`;
}

function subject(name: string): string {
  return `The "${name}" ${name.includes('.') ? 'property' : 'argument'}`;
}

/** ERR_INVALID_ARG_TYPE: `expected` completes "must be" (`of type string`, `an instance of Kqueuer`). */
export function invalidArgType(name: string, expected: string, value: unknown): CodedError {
  return codedError('ERR_INVALID_ARG_TYPE', `${subject(name)} must be ${expected}. Received ${describe(value)}`);
}

/** ERR_INVALID_ARG_VALUE: `reason` completes "must" (`not be empty`). */
export function invalidArgValue(name: string, reason: string, value: unknown): CodedError {
  // Node cuts the inspected value at 128 characters too (ERR_INVALID_ARG_VALUE).
  let shown = util.inspect(value);
  if (shown.length > 128) shown = `${shown.slice(0, 128)}...`;
  return codedError('ERR_INVALID_ARG_VALUE', `${subject(name)} must ${reason}. Received ${shown}`);
}

/** The largest value of a uint16_t: a window size's rows, columns and pixels (struct winsize). */
export const U16_MAX = 0xffff;
/** The largest value of an int32_t: an fd, a timeout in milliseconds (a timer's limit too). */
export const INT32_MAX = 0x7fffffff;

/** One of `allowed` (Node's validateOneOf): ERR_INVALID_ARG_VALUE otherwise. */
export function validateOneOf<T extends string>(value: unknown, name: string, allowed: readonly T[]): T {
  if (allowed.includes(value as T)) return value as T;
  throw invalidArgValue(name, `be one of: ${allowed.map((a) => `'${a}'`).join(', ')}`, value);
}

/**
 * A signal, by name (`'SIGTERM'`) or number (0 included, as kill(2) takes
 * it): its number. ERR_UNKNOWN_SIGNAL for one this system does not have, as
 * Node's validateSignalName says.
 */
export function validateSignal(signal: unknown): number {
  const signals = os.constants.signals as Record<string, number>;
  if (typeof signal === 'number' && Number.isInteger(signal) && (signal === 0 || Object.values(signals).includes(signal))) return signal;
  if (typeof signal === 'string' && Object.hasOwn(signals, signal)) return signals[signal];
  throw codedError('ERR_UNKNOWN_SIGNAL', `Unknown signal: ${String(signal)}`);
}

/** An integer in [min, max]. */
export function validateInteger(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw codedError(
      'ERR_OUT_OF_RANGE',
      `The value of "${name}" is out of range. It must be an integer >= ${min} and <= ${max}. Received ${value}`,
    );
  }
  return value;
}

/** A file descriptor: an integer in [0, 2^31). */
export function validateFd(value: unknown, name = 'fd'): number {
  return validateInteger(value, name, 0, INT32_MAX);
}

export function validateFunction(value: unknown, name: string): void {
  if (typeof value !== 'function') throw invalidArgType(name, 'of type function', value);
}

export function validateString(value: unknown, name: string): string {
  if (typeof value !== 'string') throw invalidArgType(name, 'of type string', value);
  return value;
}

export function validateBoolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw invalidArgType(name, 'of type boolean', value);
  return value;
}

/** An object: not null, not an array (Node's validateObject by default). */
export function validateObject<T extends object>(value: unknown, name: string): T {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidArgType(name, 'of type object', value);
  return value as T;
}

/** An object, or undefined (an options argument left out). */
export function validateOptions<T extends object>(value: unknown, name = 'options'): T | undefined {
  return value === undefined ? undefined : validateObject<T>(value, name);
}

export function validateArray(value: unknown, name: string): readonly unknown[] {
  if (!Array.isArray(value)) throw invalidArgType(name, 'an instance of Array', value);
  return value;
}

/**
 * A string that goes to execve(2): ERR_INVALID_ARG_VALUE when it holds a
 * NUL byte (C would cut it there), as child_process.spawn() checks.
 */
export function validateCString(value: unknown, name: string): string {
  if (validateString(value, name).includes('\u0000')) throw invalidArgValue(name, 'be a string without null bytes', value);
  return value as string;
}
