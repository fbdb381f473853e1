/**
 * KqueueConsole: a console fd as a Node Duplex stream, driven by readiness
 * edges from its Kqueuer. The read side is reader.ts, the write
 * side writer.ts; this file is the Duplex glue, shutdown(),
 * close() and the console operations.
 *
 * It does not know the Kqueuer: it gets a narrow Registration and the native
 * I/O calls, so the state machine can also be driven by fakes.
 */
import * as os from 'node:os';
import { Duplex } from 'node:stream';
import { Console, eofChar } from '../tty/console';
import { DEFAULT_HIGH_WATER_MARK } from './options';
import { ConsoleReader } from './reader';
import { ConsoleWriter } from './writer';
import type { AnyListener, KqueueConsoleEvents, Listener, OtherEvent, ShutdownResult, WriteCallback } from './events';
import type { ConsoleIo, KqueueConsoleInit, Registration } from './ports';
import { kReady, kReleaseFd } from './ports';
import { codedError, systemError } from '../errors';
import { validateFunction } from '../validators';
import { closeStreamFd } from '../addon/fd-ownership';
import { ReadBuffer } from './read-buffer';
import { Shutdown } from './shutdown';

export type { KqueueConsoleOptions, OnRead } from './options';
export type { KqueueConsoleEvents, ShutdownError, ShutdownResult } from './events';

/**
 * The terminal operations a {@link KqueueConsole} passes to its
 * {@link Console}, where they are documented; on an fd that is not a tty
 * each throws `ENOTTY`.
 */
export type TerminalOperations = Pick<
  Console,
  'size' | 'resize' | 'resizeFrom' | 'setRaw' | 'clearONLCR' | 'setONLCR' | 'disableEcho' | 'reset'
>;

const TERMINAL_OPERATIONS = [
  'size',
  'resize',
  'resizeFrom',
  'setRaw',
  'clearONLCR',
  'setONLCR',
  'disableEcho',
  'reset',
] as const satisfies (keyof TerminalOperations)[];

// The typed events and the terminal operations, merged into the class below
// (declarations only: the events' methods are Duplex's own, and the class
// defines the operations in its static block).
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface KqueueConsole extends TerminalOperations {
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
 *
 * Events, with their listeners (typed by {@link KqueueConsoleEvents}):
 * - `'data'`: `(chunk: Buffer) => void`, bytes read from the fd (a string
 *   after `setEncoding()`);
 * - `'hangup'`: `() => void`, the other side went away (a read said EIO);
 *   not an end: see {@link hungUp};
 * - `'error'`: `(err: SystemError | CodedError) => void`, a failure of the
 *   system, never for shutdown() or destroy(), which the caller chose;
 * - `'end'`, `'finish'`, `'close'`, `'drain'`, `'readable'`, `'pause'`,
 *   `'resume'`, `'pipe'`, `'unpipe'`: `Duplex`'s, as Node documents them.
 *
 * Its terminal operations ({@link TerminalOperations}: `size()`,
 * `resize()`, `setRaw()`, ...) are its {@link Console}'s, as Go's
 * `KqueueConsole` embeds its `Console`; on an fd that is not a tty they
 * throw `ENOTTY`.
 *
 * The members it inherits from `Duplex` (`pipe()`, `destroy()`,
 * `setEncoding()`, `readableLength`, ...) are Node's, documented with
 * node:stream, and not repeated in this reference.
 */
// One class, over 250 lines with its documentation: it is the Duplex, whose
// _read/_write/_writev/_final/_destroy Node's stream machinery calls on the
// stream itself, and Go's KqueueConsole API (shutdown, close) is its own.
// What each side does is in reader.ts, writer.ts and
// shutdown.ts; this class only joins them to the stream.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- see the interface above.
export class KqueueConsole extends Duplex {
  /** The file descriptor. */
  readonly fd: number;
  private readonly io: ConsoleIo;
  private readonly registration: Registration;
  private readonly tty: Console | null;
  private readonly autoClose: boolean;
  private readonly reader: ConsoleReader;
  private readonly writer: ConsoleWriter;
  private readonly withOnread: boolean;
  /** From shutdown() on. */
  private shutdownTask: Shutdown | null = null;
  /** False once [kReleaseFd] closed the fd before the stream's end. */
  private fdHeld = true;
  /** The last byte written (-1 before any): whether end() finds a line pending. */
  private lastByte = -1;

  /** @internal Use {@link Kqueuer.add}. */
  static create(init: KqueueConsoleInit): KqueueConsole {
    return new KqueueConsole(init);
  }

  private constructor(init: KqueueConsoleInit) {
    const { options } = init;
    super({
      readableHighWaterMark: options.readableHighWaterMark ?? DEFAULT_HIGH_WATER_MARK,
      writableHighWaterMark: options.writableHighWaterMark ?? DEFAULT_HIGH_WATER_MARK,
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
    const readBuffer = options.readBufferSize !== undefined || !init.readBuffer ? new ReadBuffer(options.readBufferSize) : init.readBuffer;
    const waitingChanged = (): void => this.registration.setWaiting(this.waiting);
    this.reader = new ConsoleReader(
      {
        fd: this.fd,
        io: this.io,
        isTty: this.tty !== null,
        ptyMaster: this.tty?.ptyMaster ?? false,
        destroyed: () => this.destroyed,
        push: (chunk) => this.push(chunk),
        end: () => this.endReadable(),
        destroy: (err) => this.destroy(err),
        hangup: () => process.nextTick(() => this.destroyed || this.emit('hangup')),
        waitingChanged,
      },
      readBuffer,
      options.onread ?? null,
    );
    this.writer = new ConsoleWriter({
      fd: this.fd,
      io: this.io,
      watchWrite: (on) => this.registration.watchWrite(on),
      waitingChanged,
      callbackRan: () => this.shutdownTask?.check(),
    });
    this.withOnread = options.onread !== undefined;
    // With onread no _read() asks for data: reading starts now, and pause()
    // and resume() stop and start it.
    if (this.withOnread) this.reader.readStartSoon();
  }

  /**
   * Waiting for an edge (the Kqueuer keeps the loop alive while any console
   * is): derived from the two sides' states, never set.
   */
  private get waiting(): boolean {
    // Destroy stops the reader and fails a waiting write, and after
    // shutdown's wake-up the reader has ended and no write waits.
    return this.reader.waiting || this.writer.waiting;
  }

  /** The terminal's name (see {@link Console.name}); empty for an fd that is not a tty. */
  get name(): string {
    return this.tty?.name ?? '';
  }

  /** The Console this stream was made from or for, or null for an fd that is not a tty. */
  get console(): Console | null {
    return this.tty;
  }

  /**
   * Whether the other side is gone for now: the last read said EIO (a pty
   * whose slave has no open fd), with nothing left to read. A read that
   * returns data again (the slave was reopened) clears it. The
   * `'hangup'` event is emitted each time this becomes true.
   */
  get hungUp(): boolean {
    return this.reader.hungUp;
  }

  /** Whether {@link shutdown} has been called. */
  get isShutdown(): boolean {
    return this.shutdownTask !== null;
  }

  // ---- Read side ----------------------------------------------------------

  /** @internal The stream machinery's (Readable's `_read`). */
  override _read(): void {
    if (!this.withOnread) this.reader.readStart(); // With onread, pause() and resume() drive reading.
  }

  /** With `onread`, pausing stops reading (the stream itself has no data to hold back). */
  override pause(): this {
    if (this.withOnread) this.reader.readStop();
    return super.pause();
  }

  /** With `onread`, resuming reads again (from the next tick, never inside the call). */
  override resume(): this {
    if (this.withOnread) this.reader.readStartSoon(); // A no-op once the reader has ended (shutdown, destroy).
    return super.resume();
  }

  private endReadable(): void {
    this.push(null);
    // With onread nothing reads the stream, so 'end' is asked for here.
    if (this.withOnread) this.read(0);
  }

  // ---- Write side ---------------------------------------------------------

  /** As Writable's; the callback gets its own chunk's outcome (see writer.ts). */
  override write(chunk: unknown, encoding?: BufferEncoding | WriteCallback, cb?: WriteCallback): boolean {
    if (typeof encoding === 'function') {
      cb = encoding;
      encoding = undefined;
    }
    const callback = this.writer.track(cb);
    try {
      return super.write(chunk, encoding as BufferEncoding, callback);
    } catch (err) {
      this.writer.untrack(callback !== undefined); // A chunk of the wrong type: nothing was written.
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

  /** @internal The stream machinery's (Writable's `_write`). */
  override _write(chunk: Buffer, _encoding: BufferEncoding, cb: WriteCallback): void {
    if (chunk.length > 0) this.lastByte = chunk[chunk.length - 1];
    this.writer.take([chunk], chunk.length, cb);
  }

  /** @internal The stream machinery's (Writable's `_writev`). */
  override _writev(chunks: { chunk: Buffer }[], cb: WriteCallback): void {
    const buffers = chunks.map((c) => c.chunk);
    let total = 0;
    for (const b of buffers) {
      total += b.length;
      if (b.length > 0) this.lastByte = b[b.length - 1];
    }
    this.writer.take(buffers, total, cb);
  }

  /**
   * @internal The stream machinery's. 'finish' says every byte reached the
   * kernel: after shutdown failed a write, it never comes.
   */
  override _final(callback: (err?: Error | null) => void): void {
    if (this.writer.bytesNotWritten !== 0) return;
    const eof = this.endOfInput();
    if (eof === null) callback();
    else this.writer.take([eof], eof.length, callback);
  }

  /**
   * What end() writes last on a pty master whose terminal is in canonical
   * mode: its VEOF character, which makes the program's read() return 0 at
   * the start of a line, so the program sees end-of-file as from a person
   * typing ^D (a pty has no half-close: pexpect's sendeof()). After a
   * partial line, the first ends the line and the second the input
   * (termios(3), VEOF). Null elsewhere: raw mode has no end-of-file
   * character, and a pipe or file ends when the fd closes.
   */
  private endOfInput(): Buffer | null {
    if (this.tty?.ptyMaster !== true || this.shutdownTask !== null || !this.fdHeld) return null;
    const c = eofChar(this.fd);
    if (c === null) return null;
    const atLineStart = this.lastByte === -1 || this.lastByte === 0x0a || this.lastByte === 0x0d;
    return Buffer.from(atLineStart ? [c] : [c, c]);
  }

  // ---- Events, shutdown, close ---------------------------------------------

  /**
   * @internal Readiness bits from the Kqueuer; `crowded`: other consoles'
   * events came in the same batch.
   */
  [kReady](bits: number, crowded = false): void {
    if (this.destroyed || this.shutdownTask?.woken === true) return;
    const { READABLE, WRITABLE, HANGUP } = this.io.bits;
    // A hang-up counts as both: the waiting side retries, sees EIO, and
    // waits again (edge-triggered, so it is reported once, not in a loop).
    if (bits & (READABLE | HANGUP)) this.reader.edge((bits & HANGUP) !== 0, crowded);
    if (bits & (WRITABLE | HANGUP)) this.writer.edge((bits & WRITABLE) !== 0);
  }

  /**
   * Shuts the console down (Go's `Shutdown(close)`): calls `close(fd)` (by
   * default the Kqueuer's `closeConsole`: stop the events, leave the fd
   * open; a promise it returns is awaited), then reads what the fd still
   * holds and ends the readable side, and fails each write that cannot
   * finish without waiting through its own callback (`ERR_CONSOLE_SHUTDOWN`,
   * with its `bytesNotWritten`), never as `'error'`. Settles once both sides
   * are done, whether or not anybody reads, with the total not written, or
   * rejects with what `close` threw. A second call returns the same promise.
   * The fd and the console operations stay until {@link close}/`destroy()`.
   * @throws ERR_INVALID_ARG_TYPE (synchronously) when `close` is not a function.
   */
  shutdown(close?: (fd: number) => unknown): Promise<ShutdownResult> {
    if (this.shutdownTask !== null) return this.shutdownTask.promise;
    if (close !== undefined) validateFunction(close, 'close');
    const task = new Shutdown({
      wake: () => this.wake(),
      done: () => this.destroyed || (this.reader.ended && this.writableLength === 0 && !this.writer.callbacksOwed),
      result: () => ({ bytesNotWritten: this.writer.bytesNotWritten }),
    });
    this.shutdownTask = task;
    task.start(close !== undefined ? () => close(this.fd) : () => this.registration.deregister());
    return task.promise;
  }

  /** Shutdown's wake-up: the reader drains and ends; pending and corked writes go now, or fail. */
  private wake(): void {
    if (!this.destroyed) {
      this.reader.readOut();
      while (this.writableCorked > 0) this.uncork();
      this.writer.shutdown();
    }
    this.registration.setWaiting(this.waiting);
  }

  /**
   * @internal Closes an fd the console owns once shutdown has read it out,
   * while the stream keeps what it read for a reader that comes later (an
   * unread console of an exited program must not hold its pty: #32). The
   * fd is never touched again: console operations throw ERR_CONSOLE_CLOSED,
   * and every later write fails whole through its callback
   * (ERR_CONSOLE_SHUTDOWN), as a write cut short by shutdown does. Returns
   * false, doing nothing, before that point or for an fd the caller owns.
   */
  [kReleaseFd](): boolean {
    if (!this.fdHeld || !this.autoClose || this.destroyed || this.shutdownTask?.woken !== true || !this.reader.ended) return false;
    this.writer.fdGone();
    this.registration.release(false);
    this.fdHeld = false;
    closeStreamFd(this.fd, this.tty);
    return true;
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

  /** @internal The stream machinery's (`destroy()` calls it). */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.reader.stop();
    this.writer.destroy(error ?? codedError('ERR_STREAM_DESTROYED', `console fd ${this.fd} was destroyed with a write pending`));
    this.registration.setWaiting(this.waiting);
    let closeError: Error | null = null;
    if (this.fdHeld) this.registration.release(!this.autoClose);
    if (this.fdHeld && this.autoClose) {
      try {
        closeStreamFd(this.fd, this.tty);
      } catch (err) {
        closeError = err as Error;
      }
    }
    this.shutdownTask?.check();
    callback(error ?? closeError);
  }

  // ---- Console operations (ENOTTY for an fd that is not a tty) ------------

  static {
    // Each passes its call to the Console, as Node's TLSSocket passes its
    // handle's methods to the parent's (lib/_tls_wrap.js, proxiedMethods).
    for (const op of TERMINAL_OPERATIONS) {
      const method = Console.prototype[op] as (...args: unknown[]) => unknown;
      Object.defineProperty(KqueueConsole.prototype, op, {
        value: function (this: KqueueConsole, ...args: unknown[]): unknown {
          if (this.tty === null) throw systemError(os.constants.errno.ENOTTY, 'ioctl', this.fd);
          return method.apply(this.tty, args);
        },
        configurable: true,
        writable: true,
      });
    }
  }
}
