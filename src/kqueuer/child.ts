/**
 * @internal What a Kqueuer and spawn() exchange about a process: the request
 * made before the fork, how its exit is heard, and the status it ends with.
 */
import * as os from 'node:os';

/** How a program ended, as `child_process` reports it: one of the two is null. */
export interface ExitStatus {
  /** The exit code, or null when a signal ended it. */
  exitCode: number | null;
  /** The signal that ended it, or null when it exited. */
  signal: NodeJS.Signals | null;
}

/** @internal Everything the native fork/exec needs, made before it (native/spawn.h). */
export interface SpawnRequest {
  /** The paths execve() tries in order (execvp's PATH search, done ahead). */
  paths: string[];
  argv: string[];
  /** `NAME=value` strings. */
  envp: string[];
  /** null: the parent's working directory. */
  cwd: string | null;
  slaveFd: number;
}

/** @internal What a Kqueuer tells the owner of a process it watches, once. */
export interface ChildHandlers {
  /** The process has exited and has been reaped. */
  exited(status: ExitStatus): void;
  /** Its exit can no longer be watched (the Kqueuer closed); it will still be reaped. */
  lost(err: Error): void;
}

/** @internal A process's registration with its Kqueuer. */
export interface ChildWatch {
  readonly pid: number;
  /** Keep the event loop alive while the process runs (the default). */
  ref(): void;
  /** Let the event loop exit while the process runs. */
  unref(): void;
}

const names = new Map<number, NodeJS.Signals>();
for (const [name, n] of Object.entries(os.constants.signals)) {
  if (!names.has(n)) names.set(n, name as NodeJS.Signals);
}

/** The name of signal `n` (`SIGTERM` for 15), as ChildProcess's `signalCode`. */
export function signalName(n: number): NodeJS.Signals {
  return names.get(n) ?? (`SIG${n}` as NodeJS.Signals);
}
