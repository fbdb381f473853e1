/**
 * fromNodePty(): a node-pty IPty's master as a KqueueConsole.
 *
 * node-pty reads its master with a tty.ReadStream that it starts on the next
 * tick after spawn(), and when the child exits it waits for that stream to
 * close (up to 200 ms) before emitting 'exit' and closing the fd. Here one
 * reader owns the pty: this module stops node-pty's reader before it can take
 * a byte, reads from a duplicate of the master fd (so node-pty closing its
 * own fd cannot cut the stream short), and lets node-pty's stream go as soon
 * as the master hangs up. node-pty is never imported: any object shaped like
 * its IPty will do, and the core library loads without it.
 */
import { sharedKqueuer, type Kqueuer } from '../kqueuer/kqueuer';
import { binding, lastError } from '../addon/binding';
import { discardOwned } from '../addon/fd-ownership';
import { invalidArgValue } from '../validators';
import type { KqueueConsole, KqueueConsoleOptions } from '../stream/kqueue-console';

/** Options of {@link fromNodePty}: those of {@link Kqueuer.add} but `autoClose` (the duplicate it reads is always closed with the stream). */
export type NodePtyConsoleOptions = Omit<KqueueConsoleOptions, 'autoClose'>;

/** The parts of node-pty's `IPty` (1.x, Unix) this module uses. */
export interface NodePtyLike {
  readonly pid: number;
  onExit(listener: (e: { exitCode: number; signal?: number }) => void): { dispose(): void };
}

/** node-pty's internals: the master fd and the tty.ReadStream that reads it. */
interface NodePtyInternals {
  _fd?: unknown;
  fd?: unknown;
  _socket?: NodePtySocket;
}

/** node-pty's tty.ReadStream of the master. */
interface NodePtySocket {
  pause(): void;
  destroy(): void;
  _read: (size: number) => void;
  _handle?: { reading?: boolean; readStop?: () => void } | null;
  readableLength: number;
  read(): string | Buffer | null;
}

/**
 * Takes over a node-pty process's master: the returned stream carries every
 * byte the child writes, from its first to its last, with backpressure both
 * ways. Call it right after `pty.spawn()`, in the same tick, before node-pty
 * starts reading; node-pty's own `onData` then sees nothing, and writes go
 * through the returned stream.
 *
 * The readable side ends once the child has exited and the master has
 * drained (EIO with nothing left to read); the writable side ends with it.
 * `resize()` on the stream resizes the pty (the child gets SIGWINCH).
 *
 * @param pty an `IPty` from node-pty's `spawn()` (Unix).
 * @param kqueuer the Kqueuer to add the console to; by default one shared per thread.
 * @throws ERR_INVALID_ARG_VALUE when `pty` is not a node-pty IPty with a
 *   master fd; errno errors from dup() or kevent().
 */
export function fromNodePty(pty: NodePtyLike, kqueuer?: Kqueuer, options?: NodePtyConsoleOptions): KqueueConsole {
  const { fd, socket } = masterOf(pty);
  const native = binding();
  const copy = native.dup(fd);
  if (copy < 0) throw lastError(native, fd);
  let con: KqueueConsole;
  try {
    con = (kqueuer ?? sharedKqueuer()).add(copy, { ...options, autoClose: true });
  } catch (err) {
    discardOwned(copy);
    throw err;
  }
  // Nothing below can fail: node-pty's reader is stopped only once the
  // stream that replaces it exists.
  const early = socket !== undefined ? stopReader(socket) : null;
  if (early !== null) con.unshift(early);
  endWithChild(con, pty, socket);
  return con;
}

/** The master fd of `pty`, and node-pty's stream that reads it. */
function masterOf(pty: NodePtyLike): { fd: number; socket: NodePtySocket | undefined } {
  const internals = pty as unknown as NodePtyInternals;
  const fd = internals?._fd ?? internals?.fd;
  if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0 || typeof pty.onExit !== 'function') {
    throw invalidArgValue('pty', 'be a node-pty IPty with a master fd (Unix)', pty);
  }
  return { fd, socket: internals._socket };
}

/**
 * Stops node-pty's reader. Its 'data' listener asked to start reading on
 * the next tick; a no-op _read means that never reaches the fd. Should it
 * already have read (fromNodePty called a tick late), returns what it holds.
 */
function stopReader(socket: NodePtySocket): Buffer | null {
  socket.pause();
  socket._read = () => {};
  if (socket._handle?.reading) socket._handle.readStop?.();
  if (socket.readableLength === 0) return null;
  const held = socket.read();
  if (held === null) return null;
  return typeof held === 'string' ? Buffer.from(held, 'utf8') : held;
}

/**
 * Ends `con` once the child has exited and the master has hung up (its
 * output all read), and lets node-pty's stream go at the hang-up.
 */
function endWithChild(con: KqueueConsole, pty: NodePtyLike, socket: NodePtySocket | undefined): void {
  // running, then exited (node-pty reported the exit), then finishing once
  // the master has hung up too (the shutdown below has begun).
  let phase: 'running' | 'exited' | 'finishing' = 'running';
  // The master hung up: node-pty's stream has nothing left to read. Closing
  // it now lets node-pty emit 'exit' as soon as the child is reaped, instead
  // of after its 200 ms timer. A stream's destroy() is idempotent.
  const releaseNodePty = (): void => void socket?.destroy();
  const finish = (): void => {
    if (phase !== 'exited' || !con.hungUp) return;
    phase = 'finishing';
    // Input still queued for the gone child fails through its callbacks.
    // 'finish' then never comes, so neither does autoDestroy: the stream is
    // closed once its output has been read.
    void con.shutdown().then(({ bytesNotWritten }) => {
      con.end();
      if (bytesNotWritten === 0) return;
      if (con.readableEnded) con.destroy();
      else con.once('end', () => con.destroy());
    });
  };
  con.on('hangup', () => {
    releaseNodePty();
    finish();
  });
  const subscription = pty.onExit(() => {
    phase = 'exited';
    finish();
  });
  con.once('close', () => {
    subscription.dispose();
    releaseNodePty();
  });
}
