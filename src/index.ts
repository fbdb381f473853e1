/**
 * Console file descriptors (pty masters, ttys, pipes) as Node `Duplex`
 * streams with real backpressure, on a dedicated kqueue.
 *
 * - {@link spawn}: a program on a new pty, as one stream that ends with it.
 * - {@link Kqueuer} and {@link KqueueConsole}: any console fd as a stream
 *   (Go's `Kqueuer`/`KqueueConsole`), with {@link openPty}, {@link current}
 *   and {@link Console} for the terminal operations.
 * - {@link fromNodePty}: a node-pty process's master, read without loss.
 *
 * A console's events and their listeners' arguments are
 * {@link KqueueConsoleEvents}.
 * @module
 */
export { Kqueuer, type KqueuerOptions } from './kqueuer/kqueuer';
export type { Wakeup } from './kqueuer/wakeup';
export { KqueueConsole } from './stream/kqueue-console';
export type {
  KqueueConsoleEvents,
  KqueueConsoleOptions,
  OnRead,
  ShutdownError,
  ShutdownResult,
  TerminalOperations,
} from './stream/kqueue-console';
export { Console, openPty, ptyFromFd, current } from './tty/console';
export type { ConsoleOptions, Pty, RawOptions, WinSize } from './tty/console';
export type { CodedError, ErrorCode, SystemError } from './errors';
export type { AnyListener, DuplexEvent, Listener, OtherEvent, WriteCallback } from './stream/events';
export { spawn, PtyProcess, DEFAULT_TERM } from './process/spawn';
export type { ExitStatus, SpawnOptions } from './process/spawn';
export { fromNodePty } from './process/node-pty';
export { peerUid } from './addon/peer';
export type { NodePtyConsoleOptions, NodePtyLike } from './process/node-pty';
