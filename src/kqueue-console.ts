/**
 * KqueueConsole: a console fd as a Node Duplex stream, driven by readiness
 * edges from its Kqueuer.
 *
 * The readiness contract, followed everywhere below: registration is
 * edge-triggered; read or write until the fd says EAGAIN; wait for an edge
 * only after EAGAIN (or EIO: a pty whose other side is gone, for now);
 * tolerate spurious edges. An edge is never lost: reading that stopped for
 * backpressure, not EAGAIN, goes on at the next _read() without waiting.
 *
 * This file does not know the Kqueuer: it gets a narrow Registration and the
 * native I/O calls, so the state machine can also be driven by fakes.
 */
import * as os from 'node:os';
import { Duplex } from 'node:stream';
import { debuglog } from 'node:util';
import type { NativeBinding } from './binding';
import { Console, closeOwned, type RawOptions, type WinSize } from './console';
import { codedError, systemError, validateFunction, validateInteger, type CodedError, type SystemError } from './errors';

const debug = debuglog('kqueue-console');
const { EAGAIN, EIO, EBADF } = os.constants.errno;

/** Default size of the buffers reads go into; a pty hands out ~4 KiB per read(2). */
export const DEFAULT_READ_BUFFER_SIZE = 64 * 1024;
/** The most room a read buffer may have left and still be replaced by a fresh one. */
const MIN_READ_ROOM = 8 * 1024;

/**
 * @internal Where consoles read into: one buffer, filled by whichever
 * console reads next and handed out in slices, replaced by a fresh one when
 * little room is left. A Kqueuer's consoles share one, so that what a console
 * costs is what it has read, not a mostly empty buffer of its own: 256
 * consoles with 64 KiB each held 16 MiB, long enough for V8 to move the
 * buffers to its old generation, where spent ones wait for a full collection
 * (W5, 256 consoles: 380 KiB of RSS per console with a buffer each, 187 shared).
 */
export class ReadBuffer {
  buffer: Buffer = Buffer.alloc(0);
  offset = 0;
  /** A buffer with less room than this left is replaced by a fresh one. */
  readonly minRoom: number;

  constructor(readonly size: number = DEFAULT_READ_BUFFER_SIZE) {
    this.minRoom = Math.min(MIN_READ_ROOM, size / 2);
  }

  /** Makes sure the buffer has at least minRoom bytes free past offset. */
  reserve(): void {
    if (this.buffer.length - this.offset < this.minRoom) {
      this.buffer = Buffer.allocUnsafe(this.size);
      this.offset = 0;
    }
  }
}

/**
 * The most one read loop takes from the fd before it lets the event loop run
 * (timers, other consoles, a consumer's pause()); it goes on in a
 * setImmediate. A child writing flat out would otherwise keep the fd from
 * ever saying EAGAIN, and the loop from ever getting back to anything else.
 */
const READ_BUDGET = 256 * 1024;
/** At shutdown, the most that is read past backpressure before the stream ends. */
const SHUTDOWN_DRAIN_LIMIT = 4 * 1024 * 1024;

/** @internal The native calls the stream makes (the binding, or a fake in a test). */
export type ConsoleIo = Pick<NativeBinding, 'read' | 'write' | 'writev' | 'status' | 'bits'>;

/** @internal What a console needs of its Kqueuer. */
export interface Registration {
  /** Whether the console waits for an edge: the Kqueuer keeps the loop alive while any does. */
  setWaiting(waiting: boolean): void;
  /**
   * Whether WRITE edges are wanted: on while a write waits for room, off
   * when one comes with no write waiting. Returns 0, or an errno.
   */
  watchWrite(on: boolean): number;
  /** Stops the events (containerd/console's `CloseConsole`); the default shutdown close. */
  deregister(): void;
  /** The console is gone: deregister, and give the fd back as it was if it stays open. */
  release(fdStillOpen: boolean): void;
}

/** Options of {@link Kqueuer.add}. */
export interface KqueueConsoleOptions {
  /**
   * Whether destroying the stream closes the fd. Default: true for a Console
   * that owns its fd (from openPty()), false for an fd number.
   */
  autoClose?: boolean;
  /** The readable side's high-water mark in bytes. Default 64 KiB. */
  readableHighWaterMark?: number;
  /** The writable side's high-water mark in bytes. Default 64 KiB. */
  writableHighWaterMark?: number;
  /**
   * Size of the buffers reads go into, in bytes (4 KiB to 16 MiB). By default
   * a console reads into 64 KiB buffers that its Kqueuer's consoles share
   * (each chunk is a slice of one, as `Buffer.allocUnsafe()` slices Node's
   * pool, so `chunk.buffer` can hold other consoles' bytes); a console given
   * a size reads into buffers of its own.
   */
  readBufferSize?: number;
  /**
   * Reads go into memory the caller provides and reuses, and each is handed
   * to `onread.callback` instead of to the stream (as `net.Socket`'s
   * `onread`): no Buffer is made per read, so nothing is left for the
   * garbage collector. The readable side gives no data (`'data'` is never
   * emitted), but still ends, emits `'hangup'`, and drains at shutdown.
   * Reading starts when the console is added. Not with `readBufferSize`.
   */
  onread?: OnRead;
}

/** The `onread` option of {@link KqueueConsoleOptions}. */
export interface OnRead {
  /**
   * The memory each read goes into, from its start: one buffer reused for
   * every read, or a function that returns it, called for the first read and
   * again after each callback (the buffer just handed over is then the
   * caller's to keep), as `net.Socket` does.
   */
  buffer: Uint8Array | (() => Uint8Array);
  /**
   * Called after each read that got bytes: they are `buf[0, bytesRead)`,
   * and a `buffer` that is not a function is read into again after the
   * callback returns. Returning `false` pauses reading, as `pause()` does;
   * `resume()` goes on. At shutdown, what the fd still holds is delivered
   * whatever the callback returns.
   */
  callback(bytesRead: number, buf: Uint8Array): boolean | void;
}

/** @internal How the Kqueuer makes a console. */
export interface KqueueConsoleInit {
  fd: number;
  io: ConsoleIo;
  registration: Registration;
  console: Console | null;
  autoClose: boolean;
  options: KqueueConsoleOptions;
  /** The buffer to read into when options.readBufferSize is not given (the Kqueuer's shared one). */
  readBuffer?: ReadBuffer;
}

/** @internal The Kqueuer delivers readiness bits through this method. */
export const kReady = Symbol('kqueue-console.ready');

type WriteCallback = (err?: Error | null) => void;

/** One write() call's chunk, from write() to its callback. */
interface WriteRecord {
  /** The chunk's number: write() numbers chunks in the order _write()/_writev() get them. */
  seq: number;
  /** Set when shutdown fails the chunk: what its callback gets instead of success. */
  failure: ShutdownError | null;
}

interface WriteRequest {
  chunks: Buffer[];
  /** The number of the first chunk. */
  first: number;
  total: number;
  done: number;
  /** The Writable's callback: always called without an error for a write shutdown fails (see settleWrite). */
  cb: WriteCallback;
}

/** The error a write gets when shutdown() leaves it unfinished. */
export interface ShutdownError extends Error {
  code: 'ERR_CONSOLE_SHUTDOWN';
  /** Bytes of this write() that never reached the kernel. */
  bytesNotWritten: number;
  fd: number;
}

/** What {@link KqueueConsole.shutdown} resolves with. */
export interface ShutdownResult {
  /** Bytes of the writes that shutdown failed (each got `ERR_CONSOLE_SHUTDOWN`); 0 when every write went out. */
  bytesNotWritten: number;
}

/**
 * The events a {@link KqueueConsole} types strictly: a listener that takes
 * other arguments is a compile error. The rest of `Duplex`'s events
 * (`'end'`, `'close'`, `'drain'`, ...) are typed as Node types them.
 */
export interface KqueueConsoleEvents {
  /**
   * Bytes read from the fd. (A string after `setEncoding()`: such a
   * stream's listeners take `Buffer | string`.)
   */
  data: [chunk: Buffer];
  /** The other side went away (a read said EIO); see {@link KqueueConsole.hungUp}. */
  hangup: [];
  /** A failure of the system: never for shutdown() or destroy(), which the caller chose. */
  error: [err: SystemError | CodedError];
}

/** The events of `Duplex` that keep Node's typing. */
type DuplexEvent = 'close' | 'drain' | 'end' | 'finish' | 'pause' | 'pipe' | 'readable' | 'resume' | 'unpipe';

/**
 * Any other event: one of Duplex's, any symbol, or a `string` that is not a
 * literal. A misspelled literal is a compile error, and the class stays
 * assignable to `Duplex` (whose catch-all takes `string | symbol`).
 */
type OtherEvent<E> = E extends keyof KqueueConsoleEvents ? never : E extends DuplexEvent | symbol ? E : string extends E ? E : never;
type Listener<K extends keyof KqueueConsoleEvents> = (...args: KqueueConsoleEvents[K]) => void;
/** A listener of an event typed as Node types it: its arguments may be anything. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Node's own EventEmitter typing; unknown[] would refuse typed listeners.
type AnyListener = (...args: any[]) => void;

// The typed events, merged into the class below (declarations only: the
// methods are Duplex's own, so nothing is left unimplemented).
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface KqueueConsole {
  on<K extends keyof KqueueConsoleEvents>(event: K, listener: Listener<K>): this;
  on<E extends string | symbol>(event: OtherEvent<E>, listener: AnyListener): this;
  once<K extends keyof KqueueConsoleEvents>(event: K, listener: Listener<K>): this;
  once<E extends string | symbol>(event: OtherEvent<E>, listener: AnyListener): this;
  off<K extends keyof KqueueConsoleEvents>(event: K, listener: Listener<K>): this;
  off<E extends string | symbol>(event: OtherEvent<E>, listener: AnyListener): this;
  addListener<K extends keyof KqueueConsoleEvents>(event: K, listener: Listener<K>): this;
  addListener<E extends string | symbol>(event: OtherEvent<E>, listener: AnyListener): this;
  prependListener<K extends keyof KqueueConsoleEvents>(event: K, listener: Listener<K>): this;
  prependListener<E extends string | symbol>(event: OtherEvent<E>, listener: AnyListener): this;
  prependOnceListener<K extends keyof KqueueConsoleEvents>(event: K, listener: Listener<K>): this;
  prependOnceListener<E extends string | symbol>(event: OtherEvent<E>, listener: AnyListener): this;
  removeListener<K extends keyof KqueueConsoleEvents>(event: K, listener: Listener<K>): this;
  removeListener<E extends string | symbol>(event: OtherEvent<E>, listener: AnyListener): this;
  /** `for await (const chunk of con)`: each chunk is a Buffer. */
  [Symbol.asyncIterator](): NodeJS.AsyncIterator<Buffer>;
}

/**
 * A console fd as a Duplex stream (Go's `KqueueConsole`). Made by
 * {@link Kqueuer.add}. Reading and writing are the stream's two sides, with
 * backpressure both ways; EAGAIN and EIO mean "wait for the next edge", so a
 * pty whose slave closes and reopens keeps streaming; the readable side ends
 * at end of file (read() returning 0) or after {@link shutdown}.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- see the interface above.
export class KqueueConsole extends Duplex {
  /** The file descriptor. */
  readonly fd: number;
  private readonly io: ConsoleIo;
  private readonly registration: Registration;
  private readonly tty: Console | null;
  private readonly autoClose: boolean;
  private readonly readBuffer: ReadBuffer;
  /**
   * A hang-up edge came and no read has said EIO or EAGAIN since: reads go
   * on to the EIO, as no other edge will come for the bytes before it.
   */
  private hangupPending = false;
  /** options.onread: where reads go instead of push(), or null. */
  private readonly onread: OnRead | null;
  /** The buffer the next read goes into with onread; null: ask onread.buffer(). */
  private userBuffer: Uint8Array | null = null;
  /** The stream wants data: _read() was called and push() has not said stop. */
  private wantRead = false;
  /** The last read said EAGAIN/EIO, and no READ edge has come since. */
  private readArmed = false;
  /** push(null) has been called. */
  private readDone = false;
  /** readLoop() is on the stack (push() can call _read() back). */
  private reading = false;
  /** Bytes read since the fd last said EAGAIN or the event loop last had a turn. */
  private turnBytes = 0;
  /** Reading used its budget and goes on in a setImmediate. */
  private readYielded = false;
  /** The last read said EIO: the other side is gone, for now. */
  private otherSideGone = false;

  /** A write that said EAGAIN/EIO and waits for a WRITE edge. */
  private writeReq: WriteRequest | null = null;
  /**
   * Chunks given to write(), and to _write()/_writev(). The Writable hands
   * chunks on in the order they were written, so the n-th chunk _write()
   * gets is the n-th written. (A chunk refused after end() or destroy() is
   * numbered too; no chunk comes after it.)
   */
  private chunksWritten = 0;
  private chunksTaken = 0;
  /** Records of the writes with a callback whose chunk is not done yet, oldest first. */
  private readonly records: WriteRecord[] = [];
  /** write() calls whose callback has not run yet. */
  private unsettledWrites = 0;
  /** Bytes of the writes that shutdown failed. */
  private bytesNotWritten = 0;

  private waiting = false;
  /** shutdown() has called its close callback: EAGAIN/EIO now mean "done". */
  private shut = false;
  private shutdownPromise: Promise<ShutdownResult> | null = null;
  /** Settles the shutdown promise; set from shutdown() until both sides are done. */
  private settleShutdown: (() => void) | null = null;

  /** @internal Use {@link Kqueuer.add}. */
  static create(init: KqueueConsoleInit): KqueueConsole {
    return new KqueueConsole(init);
  }

  private constructor(init: KqueueConsoleInit) {
    const { options } = init;
    super({
      readableHighWaterMark: options.readableHighWaterMark ?? 64 * 1024,
      writableHighWaterMark: options.writableHighWaterMark ?? 64 * 1024,
      allowHalfOpen: true,
      decodeStrings: true,
      emitClose: true,
      autoDestroy: true,
    });
    // Go passes methods around as values (`defer con.Close()`).
    this.shutdown = this.shutdown.bind(this);
    this.close = this.close.bind(this);
    this.fd = init.fd;
    this.io = init.io;
    this.registration = init.registration;
    this.tty = init.console;
    this.autoClose = init.autoClose;
    this.readBuffer = options.readBufferSize !== undefined || !init.readBuffer ? new ReadBuffer(options.readBufferSize) : init.readBuffer;
    this.onread = options.onread ?? null;
    if (this.onread !== null) {
      // No _read() will ask for data: reading starts now, and pause() and
      // resume() stop and start it.
      this.wantRead = true;
      this.readSoon();
    }
  }

  /** The terminal's name (see {@link Console.name}); empty for an fd that is not a tty. */
  get name(): string {
    return this.tty?.name ?? '';
  }

  /** The Console this stream was made from or for, or null for an fd that is not a tty. */
  get console(): Console | null {
    return this.tty;
  }

  // ---- Read side ----------------------------------------------------------

  override _read(): void {
    if (this.onread !== null) return; // pause() and resume() drive reading.
    this.wantRead = true;
    if (!this.readArmed) this.readLoop();
    this.updateWaiting();
  }

  /** With `onread`, pausing stops reading (the stream itself has no data to hold back). */
  override pause(): this {
    if (this.onread !== null) {
      this.wantRead = false;
      this.updateWaiting();
    }
    return super.pause();
  }

  /** With `onread`, resuming reads again (from the next tick, never inside the call). */
  override resume(): this {
    if (this.onread !== null && !this.wantRead && !this.readDone && !this.destroyed && !this.shut) {
      this.wantRead = true;
      this.readSoon();
    }
    return super.resume();
  }

  /** Reads on the next tick, unless an edge must come first (the last read said EAGAIN). */
  private readSoon(): void {
    process.nextTick(() => {
      if (this.shut || this.destroyed) return;
      if (!this.readArmed) this.readLoop();
      this.updateWaiting();
    });
  }

  /**
   * Reads while the stream wants data and the fd has it, up to READ_BUDGET
   * before the event loop gets a turn. (A flowing stream calls _read() again
   * from push(), so the budget counts across calls: until the fd says EAGAIN,
   * or reading yields to the loop and goes on in a setImmediate.)
   * `crowded`: other consoles' events came in the same batch.
   */
  private readLoop(crowded = false): void {
    if (this.reading || this.readYielded) return;
    this.reading = true;
    try {
      while (this.wantRead && !this.readDone && !this.destroyed) {
        if (this.turnBytes >= READ_BUDGET) {
          this.yieldRead();
          break;
        }
        const n = this.readOnce(crowded);
        if (n < 0) {
          this.turnBytes = 0;
          break;
        }
        this.turnBytes += n;
      }
    } finally {
      this.reading = false;
    }
  }

  /**
   * The fd may still hold data and no edge will say so: go on reading once
   * the event loop has had its turn. Not waiting, so the loop is held by the
   * immediate itself.
   */
  private yieldRead(): void {
    this.readYielded = true;
    setImmediate(() => {
      this.readYielded = false;
      this.turnBytes = 0;
      if (this.shut || this.destroyed) return;
      this.readLoop();
      this.updateWaiting();
    });
  }

  /**
   * One native read into the current buffer. Returns the count, or -1 when
   * the read stopped short and the caller must stop looping (after arming,
   * ending or destroying as the errno says). `draining`: shutdown's drain,
   * which reads past backpressure.
   *
   * Reads may stop before the fd says EAGAIN (see the native read): a tty's
   * when FIONREAD says nothing is queued if other consoles are ready too
   * (`crowded`), so that none waits for its kernel worker; a pty master's
   * after a small read. Neither while a hang-up waits for its EIO, nor in
   * the drain: those must read every byte the kernel still holds.
   */
  private readOnce(crowded: boolean, draining = false): number {
    const readOn = this.hangupPending || draining;
    const noWait = crowded && this.tty !== null && !readOn;
    const stopSmall = !readOn && this.tty !== null && this.tty.ptyMaster;
    const { onread } = this;
    let buffer: Uint8Array;
    let offset = 0;
    if (onread !== null) {
      buffer = this.userBuffer ??= typeof onread.buffer === 'function' ? onread.buffer() : onread.buffer;
      if (!(buffer instanceof Uint8Array) || buffer.length === 0) {
        this.destroy(codedError('ERR_INVALID_RETURN_VALUE', 'onread.buffer must be, or return, a non-empty Uint8Array'));
        return -1;
      }
    } else {
      const rb = this.readBuffer;
      rb.reserve();
      ({ buffer, offset } = rb);
    }
    const room = buffer.length - offset;
    const n = this.io.read(this.fd, buffer, offset, room, noWait, stopSmall);
    const errno = n < room ? this.io.status[0] : 0;
    if (readOn && (errno === EIO || errno === EAGAIN)) this.hangupPending = false;
    if (n > 0) {
      this.otherSideGone = false;
      let more: boolean;
      if (onread !== null) {
        // Handed over: a buffer function is asked for the next one.
        if (typeof onread.buffer === 'function') this.userBuffer = null;
        more = onread.callback(n, buffer) !== false;
      } else {
        // Taken before push(): a 'data' listener may make another console
        // read into the same buffer.
        this.readBuffer.offset = offset + n;
        more = this.push((buffer as Buffer).subarray(offset, offset + n));
      }
      if (!more && !draining) this.wantRead = false;
    }
    if (n === room) return n;
    if (errno === 0) {
      debug('fd %d: end of file', this.fd);
      this.endRead();
    } else if (errno === EAGAIN || errno === EIO || (this.shut && errno === EBADF)) {
      if (errno === EIO) this.noteHangup();
      if (this.shut) this.endRead();
      else this.readArmed = true;
    } else {
      this.destroy(systemError(errno, 'read', this.fd));
    }
    return -1;
  }

  /**
   * A read said EIO: everything written before the other side went away has
   * been read. 'hangup' is emitted once per hang-up, on the next tick, so
   * that its listeners never run inside the read loop.
   */
  private noteHangup(): void {
    if (this.otherSideGone) return;
    this.otherSideGone = true;
    debug('fd %d: hang-up (EIO)', this.fd);
    process.nextTick(() => {
      if (!this.destroyed) this.emit('hangup');
    });
  }

  /**
   * Whether the other side is gone for now: the last read said EIO (a pty
   * whose slave has no open fd), with nothing left to read. A read that
   * returns data again (the slave was reopened) clears it. The
   * `'hangup'` event is emitted each time this becomes true.
   */
  get hungUp(): boolean {
    return this.otherSideGone;
  }

  private endRead(): void {
    if (this.readDone) return;
    this.readDone = true;
    this.wantRead = false;
    this.push(null);
    // With onread nothing reads the stream, so 'end' is asked for here.
    if (this.onread !== null) this.read(0);
  }

  // ---- Write side ---------------------------------------------------------

  /**
   * As Writable's, with each callback routed through settleWrite(): a write
   * that shutdown fails is completed for the Writable (an error there would
   * be emitted as 'error' and destroy the stream) and fails for its caller.
   */
  override write(chunk: unknown, encoding?: BufferEncoding | WriteCallback, cb?: WriteCallback): boolean {
    if (typeof encoding === 'function') {
      cb = encoding;
      encoding = undefined;
    }
    const seq = this.chunksWritten++;
    // Without a callback nobody can be told of a failure: no record.
    const record: WriteRecord | null = cb === undefined ? null : { seq, failure: null };
    if (record !== null) {
      this.records.push(record);
      this.unsettledWrites++;
    }
    try {
      if (record === null) return super.write(chunk, encoding as BufferEncoding);
      return super.write(chunk, encoding as BufferEncoding, (err) => this.settleWrite(err ?? record.failure ?? err, cb!));
    } catch (err) {
      // A chunk of the wrong type: nothing was written, and no callback comes.
      this.chunksWritten--;
      if (record !== null) {
        this.records.pop();
        this.unsettledWrites--;
      }
      throw err;
    }
  }

  /** As Writable's; a last chunk goes through write() (Writable's end() would bypass it). */
  override end(chunk?: unknown, encoding?: BufferEncoding | (() => void), cb?: () => void): this {
    if (typeof chunk === 'function') {
      cb = chunk as () => void;
      chunk = undefined;
    } else if (typeof encoding === 'function') {
      cb = encoding;
      encoding = undefined;
    }
    if (chunk !== undefined && chunk !== null) this.write(chunk, encoding);
    return super.end(cb);
  }

  /** A write() callback: the caller gets its chunk's own outcome. */
  private settleWrite(err: Error | null | undefined, cb: WriteCallback): void {
    this.unsettledWrites--;
    try {
      cb(err);
    } finally {
      if (this.settleShutdown !== null) this.maybeSettleShutdown();
    }
  }

  /** 'finish' says every byte reached the kernel: after shutdown failed a write, it never comes. */
  override _final(callback: () => void): void {
    if (this.bytesNotWritten === 0) callback();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, cb: WriteCallback): void {
    this.tryWrite({ chunks: [chunk], first: this.chunksTaken++, total: chunk.length, done: 0, cb });
  }

  override _writev(chunks: { chunk: Buffer }[], cb: WriteCallback): void {
    const buffers = chunks.map((c) => c.chunk);
    let total = 0;
    for (const b of buffers) total += b.length;
    const first = this.chunksTaken;
    this.chunksTaken += buffers.length;
    this.tryWrite({ chunks: buffers, first, total, done: 0, cb });
  }

  /** Writes what is left of `req`; completes it, waits for an edge, or fails it. */
  private tryWrite(req: WriteRequest): void {
    this.writeReq = null;
    if (req.done < req.total) {
      const n =
        req.chunks.length === 1
          ? this.io.write(this.fd, req.chunks[0], req.done, req.total - req.done)
          : this.io.writev(this.fd, req.chunks, req.done);
      req.done += n;
    }
    if (req.done === req.total) {
      this.dropRecords(req.first + req.chunks.length);
      req.cb();
      return;
    }
    const errno = this.io.status[0];
    // After shutdown nothing waits; EBADF: the close callback closed the fd.
    if (this.shut && (errno === EAGAIN || errno === EIO || errno === EBADF)) {
      this.failOnShutdown(req);
    } else if (errno !== EAGAIN && errno !== EIO) {
      req.cb(systemError(errno, req.chunks.length === 1 ? 'write' : 'writev', this.fd));
    } else {
      // WRITE is watched only while a write waits; watching it reports the
      // fd at once if it has room again already, so no edge is missed.
      const err = this.registration.watchWrite(true);
      if (err !== 0) {
        req.cb(systemError(err, 'kevent', this.fd));
        return;
      }
      this.writeReq = req;
      this.updateWaiting();
    }
  }

  /**
   * Fails a write that cannot finish after shutdown, as Node fails the writes
   * of a stream its user destroyed: each chunk not wholly written gets
   * ERR_CONSOLE_SHUTDOWN with its own unwritten count through its callback,
   * and no 'error' is emitted. The Writable sees the chunks completed, so the
   * stream, its readable side's buffered output and the fd stay as they are.
   */
  private failOnShutdown(req: WriteRequest): void {
    let start = 0;
    req.chunks.forEach((chunk, i) => {
      const left = Math.min(chunk.length, start + chunk.length - req.done);
      start += chunk.length;
      if (left <= 0) return;
      this.bytesNotWritten += left;
      this.dropRecords(req.first + i);
      const record = this.records[0];
      if (record?.seq !== req.first + i) return; // Written with no callback.
      record.failure = codedError('ERR_CONSOLE_SHUTDOWN', `console fd ${this.fd} was shut down with ${left} bytes of a write not written`, {
        bytesNotWritten: left,
        fd: this.fd,
      }) as unknown as ShutdownError;
    });
    this.dropRecords(req.first + req.chunks.length);
    req.cb();
  }

  /** Forgets the records of chunks numbered below `end`: they are done (their callbacks hold the records). */
  private dropRecords(end: number): void {
    const { records } = this;
    while (records.length > 0 && records[0].seq < end) records.shift();
  }

  // ---- Events and shutdown ------------------------------------------------

  /**
   * @internal Readiness bits from the Kqueuer; `crowded`: other consoles'
   * events came in the same batch.
   */
  [kReady](bits: number, crowded = false): void {
    if (this.destroyed || this.shut) return;
    const { READABLE, WRITABLE, HANGUP } = this.io.bits;
    // A hang-up counts as both: the waiting side retries, sees EIO, and
    // waits again (edge-triggered, so it is reported once, not in a loop).
    if (bits & (READABLE | HANGUP)) {
      this.readArmed = false;
      if (bits & HANGUP) this.hangupPending = true;
      if (this.wantRead) this.readLoop(crowded);
    }
    if (bits & (WRITABLE | HANGUP)) {
      const req = this.writeReq;
      if (req !== null) this.tryWrite(req);
      // Room, and nothing to write: stop the WRITE edges until a write waits.
      else if (bits & WRITABLE) this.registration.watchWrite(false);
    }
    this.updateWaiting();
  }

  private updateWaiting(): void {
    const waiting = !this.destroyed && !this.shut && ((this.wantRead && this.readArmed) || this.writeReq !== null);
    if (waiting !== this.waiting) {
      this.waiting = waiting;
      this.registration.setWaiting(waiting);
    }
  }

  /**
   * Shuts the console down (Go's `Shutdown(close)`):
   * 1. marks it closed: a second call returns the same promise;
   * 2. calls `close(fd)` (default: the Kqueuer's `closeConsole`, which stops
   *    its events and leaves the fd open) before the stream ends; a promise
   *    it returns is awaited;
   * 3. wakes every waiter: the readable side reads what the fd still holds,
   *    then ends; each write that cannot finish without waiting fails through
   *    its own callback with `ERR_CONSOLE_SHUTDOWN` and its `bytesNotWritten`.
   *    Shutdown is the caller's choice, as destroy() is: it never emits
   *    `'error'`, and after a failed write `'finish'` never comes;
   * 4. settles once the readable side has ended and every pending write has
   *    completed or failed, whether or not anybody reads: with the total of
   *    `bytesNotWritten`, or rejected with what `close` threw.
   * The fd stays open, and the console operations work, until
   * {@link close}/`destroy()`.
   * @throws ERR_INVALID_ARG_TYPE (synchronously) when `close` is not a function.
   */
  shutdown(close?: (fd: number) => unknown): Promise<ShutdownResult> {
    if (this.shutdownPromise !== null) return this.shutdownPromise;
    if (close !== undefined) validateFunction(close, 'close');
    let closeFailure: { err: unknown } | null = null;
    this.shutdownPromise = new Promise<ShutdownResult>((resolve, reject) => {
      this.settleShutdown = () => {
        if (closeFailure !== null) reject(closeFailure.err);
        else resolve({ bytesNotWritten: this.bytesNotWritten });
      };
    });
    // Whatever close() does, the stream is woken, then the promise settles.
    const finish = (err?: unknown, fallback?: string): void => {
      if (fallback !== undefined) closeFailure = { err: err ?? new Error(fallback) };
      this.wake();
      this.maybeSettleShutdown();
    };
    let result: unknown;
    try {
      result = close !== undefined ? close(this.fd) : this.registration.deregister();
    } catch (err) {
      finish(err, 'close callback threw');
      return this.shutdownPromise;
    }
    if (isThenable(result))
      result.then(
        () => finish(),
        (err: unknown) => finish(err, 'close callback rejected'),
      );
    else finish();
    return this.shutdownPromise;
  }

  private wake(): void {
    this.shut = true;
    this.readArmed = false;
    if (!this.destroyed) {
      // Read what the fd holds now, past backpressure (the kernel's buffer
      // bounds it), then end.
      let budget = SHUTDOWN_DRAIN_LIMIT;
      while (!this.readDone && !this.destroyed && budget > 0) {
        const n = this.readOnce(false, true);
        if (n < 0) break;
        budget -= n;
      }
      this.endRead();
      // Corked writes are pending too: they go now, or fail.
      while (this.writableCorked > 0) this.uncork();
      const req = this.writeReq;
      if (req !== null) this.tryWrite(req);
    }
    this.updateWaiting();
  }

  /** Settles shutdown() once the readable side has ended and no write is pending or owed its callback. */
  private maybeSettleShutdown(): void {
    if (this.settleShutdown === null || !this.shut) return;
    const writesDone = this.writableLength === 0 && this.unsettledWrites === 0;
    if (!this.destroyed && !(this.readDone && writesDone)) return;
    const settle = this.settleShutdown;
    this.settleShutdown = null;
    settle();
  }

  /** Whether {@link shutdown} has been called. */
  get isShutdown(): boolean {
    return this.shutdownPromise !== null;
  }

  /**
   * Destroys the stream (Go's `Close`): stops its events and closes the fd if
   * the console owns it (`autoClose`). Resolves on `'close'`. Idempotent.
   */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed) {
        resolve();
        return;
      }
      this.once('close', () => resolve());
      this.destroy();
    });
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const req = this.writeReq;
    this.writeReq = null;
    // Buffered chunks never reach _write() now (the Writable fails them).
    this.records.length = 0;
    this.wantRead = false;
    this.updateWaiting();
    if (req !== null) {
      req.cb(error ?? codedError('ERR_STREAM_DESTROYED', `console fd ${this.fd} was destroyed with a write pending`));
    }
    this.registration.release(!this.autoClose);
    let closeError: Error | null = null;
    if (this.autoClose) {
      try {
        if (this.tty !== null && this.tty.autoClose) this.tty.close();
        else closeOwned(this.fd);
      } catch (err) {
        closeError = err as Error;
      }
    }
    this.maybeSettleShutdown();
    callback(error ?? closeError);
  }

  // ---- Console operations (ENOTTY for an fd that is not a tty) ------------

  private terminal(): Console {
    if (this.tty === null) throw systemError(os.constants.errno.ENOTTY, 'ioctl', this.fd);
    return this.tty;
  }

  /** The window size. @throws as {@link Console.size}; `ENOTTY` for an fd that is not a tty. */
  size(): WinSize {
    return this.terminal().size();
  }

  /** Sets the window size. @throws as {@link Console.resize}; `ENOTTY` for an fd that is not a tty. */
  resize(size: WinSize): void {
    this.terminal().resize(size);
  }

  /** Copies another console's window size. @throws as {@link resize}. */
  resizeFrom(from: Console | { size(): WinSize }): void {
    this.resize(from.size());
  }

  /** Raw mode, as {@link Console.setRaw}. @throws as it does; `ENOTTY` for an fd that is not a tty. */
  setRaw(options?: RawOptions): void {
    this.terminal().setRaw(options);
  }

  /** As {@link Console.clearONLCR}. @throws as it does; `ENOTTY` for an fd that is not a tty. */
  clearONLCR(): void {
    this.terminal().clearONLCR();
  }

  /** As {@link Console.setONLCR}. @throws as it does; `ENOTTY` for an fd that is not a tty. */
  setONLCR(): void {
    this.terminal().setONLCR();
  }

  /** Echo off. @throws as {@link Console.disableEcho}; `ENOTTY` for an fd that is not a tty. */
  disableEcho(): void {
    this.terminal().disableEcho();
  }

  /** Restores the termios saved when the Console was made. @throws as {@link Console.reset}; `ENOTTY` for an fd that is not a tty. */
  reset(): void {
    this.terminal().reset();
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}

/** @internal Validates {@link KqueueConsoleOptions}. */
export function validateConsoleOptions(options: unknown): KqueueConsoleOptions {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null) {
    throw codedError('ERR_INVALID_ARG_TYPE', `The "options" argument must be of type object. Received ${String(options)}`);
  }
  const o = options as KqueueConsoleOptions;
  if (o.autoClose !== undefined && typeof o.autoClose !== 'boolean') {
    throw codedError('ERR_INVALID_ARG_TYPE', 'The "options.autoClose" property must be of type boolean.');
  }
  if (o.readableHighWaterMark !== undefined) validateInteger(o.readableHighWaterMark, 'options.readableHighWaterMark', 0, 2 ** 30);
  if (o.writableHighWaterMark !== undefined) validateInteger(o.writableHighWaterMark, 'options.writableHighWaterMark', 0, 2 ** 30);
  if (o.readBufferSize !== undefined) validateInteger(o.readBufferSize, 'options.readBufferSize', 4096, 16 * 1024 * 1024);
  if (o.onread !== undefined) validateOnRead(o.onread, o.readBufferSize !== undefined);
  return o;
}

function validateOnRead(onread: unknown, withReadBufferSize: boolean): void {
  if (typeof onread !== 'object' || onread === null) {
    throw codedError('ERR_INVALID_ARG_TYPE', `The "options.onread" property must be of type object. Received ${String(onread)}`);
  }
  const { buffer, callback } = onread as OnRead;
  if (typeof buffer !== 'function' && !(buffer instanceof Uint8Array)) {
    throw codedError('ERR_INVALID_ARG_TYPE', 'The "options.onread.buffer" property must be a Uint8Array or a function.');
  }
  if (buffer instanceof Uint8Array && buffer.length === 0) {
    throw codedError('ERR_INVALID_ARG_VALUE', 'The "options.onread.buffer" property must not be empty.');
  }
  validateFunction(callback, 'options.onread.callback');
  if (withReadBufferSize) {
    throw codedError(
      'ERR_INCOMPATIBLE_OPTION_PAIR',
      'Option "onread" cannot be used with "readBufferSize"; onread.buffer is where reads go.',
    );
  }
}
