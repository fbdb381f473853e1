export { Kqueuer } from './kqueuer';
export { KqueueConsole } from './kqueue-console';
export type { KqueueConsoleOptions, OnRead, ShutdownError } from './kqueue-console';
export { Console, openPty, current } from './console';
export type { ConsoleOptions, Pty, WinSize } from './console';
export type { CodedError, ErrorCode, SystemError } from './errors';
export { fromNodePty } from './node-pty';
export type { NodePtyLike } from './node-pty';
