export { Kqueuer, type KqueuerOptions, type Wakeup } from './kqueuer';
export { KqueueConsole } from './kqueue-console';
export type { KqueueConsoleEvents, KqueueConsoleOptions, OnRead, ShutdownError, ShutdownResult } from './kqueue-console';
export { Console, openPty, ptyFromFd, current } from './console';
export type { ConsoleOptions, Pty, RawOptions, WinSize } from './console';
export type { CodedError, ErrorCode, SystemError } from './errors';
export type { AnyListener, DuplexEvent, Listener, OtherEvent, WriteCallback } from './console-events';
export { fromNodePty } from './node-pty';
export type { NodePtyConsoleOptions, NodePtyLike } from './node-pty';
