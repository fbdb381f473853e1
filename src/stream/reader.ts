/**
 * The read side of a console: one state machine, one pump() that every entry
 * point goes through, as Node's own onStreamRead is one function
 * (lib/internal/stream_base_commons.js).
 *
 * Edge-triggered readiness: read until the fd says EAGAIN (or EIO: a pty
 * whose other side is gone, for now), then wait for the next READ edge; a
 * spurious edge costs one read. Reading that stopped for backpressure, not
 * EAGAIN, goes on at the next readStart() without an edge. Reads may stop early
 * only as read-policy.ts allows.
 */
import * as os from 'node:os';
import { debuglog } from 'node:util';
import type { OnRead } from './options';
import { codedError, systemError } from '../errors';
import type { ConsoleIo } from './ports';
import type { ReadBuffer } from './read-buffer';
import { readFlags } from './read-policy';

const debug = debuglog('kqueue-console');
const { EAGAIN, EIO, EBADF } = os.constants.errno;

/**
 * The most one pump takes from the fd before it lets the event loop run
 * (timers, other consoles, a consumer's pause()); it goes on in a
 * setImmediate. A child writing flat out would otherwise keep the fd from
 * ever saying EAGAIN, and the loop from ever getting back to anything else.
 */
export const READ_BUDGET = 256 * 1024;
/** At shutdown, the most that is read past backpressure before the stream ends. */
export const SHUTDOWN_READ_OUT_LIMIT = 4 * 1024 * 1024;

/**
 * - `idle`: not reading now; reads when started, unless it awaits an edge.
 * - `reading`: pump() is on the stack (push() can call back into it).
 * - `yielded`: the budget was used; a setImmediate goes on.
 * - `done`: the readable side has ended.
 */
export type ReadPhase = 'idle' | 'reading' | 'yielded' | 'done';

/** What the reader needs of its stream. */
export interface ReaderHost {
  readonly fd: number;
  readonly io: ConsoleIo;
  /** The fd is a tty, and whether it is a pty master (for the read policy). */
  readonly isTty: boolean;
  readonly ptyMaster: boolean;
  /** Whether the stream was destroyed: then reading stops. */
  destroyed(): boolean;
  /** Hands a chunk to the stream (push()); false: stop, the consumer is full. */
  push(chunk: Buffer): boolean;
  /** Ends the readable side (push(null), and with onread asks for 'end'). */
  end(): void;
  destroy(err: Error): void;
  /** The other side went away: emit 'hangup' (called once per hang-up). */
  hangup(): void;
  /** The reader's `waiting` may have changed. */
  waitingChanged(): void;
}

export class ConsoleReader {
  private phase: ReadPhase = 'idle';
  /** The consumer wants data: readStart() was called and push() has not said stop since. */
  private started = false;
  /** The last read said EAGAIN/EIO, and no READ edge has come since. */
  private awaitingEdge = false;
  /** A hang-up edge came and no read has said EIO or EAGAIN since. */
  private hangupPending = false;
  /** The last read said EIO: the other side is gone, for now (the stream's `hungUp`). */
  private hungUpNow = false;
  /** Bytes read since the fd last said EAGAIN or the loop last had a turn. */
  private turnBytes = 0;
  /** With onread: the buffer the next read goes into; null: ask onread.buffer(). */
  private userBuffer: Uint8Array | null = null;

  constructor(
    private readonly host: ReaderHost,
    private readonly readBuffer: ReadBuffer,
    private readonly onread: OnRead | null,
  ) {}

  /** Waiting for an edge: the consumer wants data and the fd has none. Derived, never set. */
  get waiting(): boolean {
    return this.started && this.awaitingEdge && this.phase !== 'done';
  }

  get hungUp(): boolean {
    return this.hungUpNow;
  }

  get ended(): boolean {
    return this.phase === 'done';
  }

  /** The consumer wants data (_read(), or onread's start and resume()), as net.js's tryReadStart(). */
  readStart(): void {
    this.started = true;
    this.pump();
  }

  /** The consumer wants no more for now (onread's pause()), as a handle's readStop(). */
  readStop(): void {
    this.started = false;
    this.host.waitingChanged();
  }

  /** With onread, reading (re)starts on the next tick, never inside the caller's call. */
  readStartSoon(): void {
    if (this.started || this.phase === 'done') return;
    this.started = true;
    process.nextTick(() => this.pump());
  }

  /** A READ or HANGUP edge. */
  edge(hangup: boolean, crowded: boolean): void {
    this.awaitingEdge = false;
    if (hangup) this.hangupPending = true;
    this.pump(crowded);
  }

  /**
   * Shutdown's read-out: reads what the fd holds now, past backpressure (the
   * kernel's buffer bounds it, and SHUTDOWN_READ_OUT_LIMIT), then ends.
   */
  readOut(): void {
    this.awaitingEdge = false;
    for (let budget = SHUTDOWN_READ_OUT_LIMIT; this.phase !== 'done' && !this.host.destroyed() && budget > 0;) {
      const n = this.readOnce(false, true);
      if (n < 0) break;
      budget -= n;
    }
    this.end();
  }

  /** The stream was destroyed. */
  stop(): void {
    this.started = false;
    this.phase = 'done';
  }

  /**
   * Reads while the consumer wants data and the fd has it, up to READ_BUDGET
   * per turn of the loop (a flowing stream calls back into readStart() from
   * push(): the budget counts across those calls). `crowded`: other
   * consoles' events came in the same batch.
   */
  private pump(crowded = false): void {
    if (this.phase === 'idle' && this.started && !this.awaitingEdge && !this.host.destroyed()) {
      this.phase = 'reading';
      try {
        while (this.started && this.phase === 'reading' && !this.host.destroyed()) {
          if (this.turnBytes >= READ_BUDGET) {
            this.yieldTurn();
            break;
          }
          const n = this.readOnce(crowded, false);
          if (n < 0) {
            this.turnBytes = 0;
            break;
          }
          this.turnBytes += n;
        }
      } finally {
        if (this.phase === 'reading') this.phase = 'idle';
      }
    }
    this.host.waitingChanged();
  }

  /**
   * The fd may still hold data and no edge will say so: go on once the event
   * loop has had its turn. Not waiting: the immediate itself holds the loop.
   */
  private yieldTurn(): void {
    this.phase = 'yielded';
    setImmediate(() => {
      this.turnBytes = 0;
      if (this.phase !== 'yielded') return;
      this.phase = 'idle';
      this.pump();
    });
  }

  /**
   * One native read into the current buffer. Returns the count, or -1 when
   * the read stopped short and the caller must stop (after noting that the
   * fd awaits an edge, ending or destroying as the errno says).
   */
  private readOnce(crowded: boolean, readingOut: boolean): number {
    const { host, onread } = this;
    let buffer: Uint8Array;
    let offset = 0;
    if (onread !== null) {
      buffer = this.userBuffer ??= typeof onread.buffer === 'function' ? onread.buffer() : onread.buffer;
      if (!(buffer instanceof Uint8Array) || buffer.length === 0) {
        host.destroy(codedError('ERR_INVALID_RETURN_VALUE', 'onread.buffer must be, or return, a non-empty Uint8Array'));
        return -1;
      }
    } else {
      buffer = this.readBuffer.reserve();
      offset = this.readBuffer.start;
    }
    const room = buffer.length - offset;
    const flags = readFlags({ isTty: host.isTty, ptyMaster: host.ptyMaster, crowded, hangupPending: this.hangupPending, readingOut });
    const n = host.io.read(host.fd, buffer, offset, room, flags.noWait, flags.stopSmall);
    const errno = n < room ? host.io.status[0] : 0;
    if (errno === EIO || errno === EAGAIN) this.hangupPending = false;
    if (n > 0) {
      this.hungUpNow = false;
      let more: boolean;
      if (onread !== null) {
        // Handed over: a buffer function is asked for the next one.
        if (typeof onread.buffer === 'function') this.userBuffer = null;
        more = onread.callback(n, buffer) !== false;
      } else {
        // Taken before push(): a 'data' listener may make another console
        // read into the same buffer.
        more = host.push(this.readBuffer.take(n));
      }
      if (!more && !readingOut) this.started = false;
    }
    if (n === room) return n;
    if (errno === 0) {
      debug('fd %d: end of file', host.fd);
      this.end();
    } else if (errno === EAGAIN || errno === EIO || (readingOut && errno === EBADF)) {
      // EBADF in the read-out: the close callback closed the fd.
      if (errno === EIO) this.noteHangup();
      if (readingOut) this.end();
      else this.awaitingEdge = true;
    } else {
      host.destroy(systemError(errno, 'read', host.fd));
    }
    return -1;
  }

  /** A read said EIO: everything written before the other side went away has been read. */
  private noteHangup(): void {
    if (this.hungUpNow) return;
    this.hungUpNow = true;
    debug('fd %d: hang-up (EIO)', this.host.fd);
    this.host.hangup();
  }

  private end(): void {
    if (this.phase === 'done') return;
    this.phase = 'done';
    this.started = false;
    this.host.end();
  }
}
