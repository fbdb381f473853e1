/**
 * Kqueuer: one dedicated kqueue, polled by the event loop (Go's `Kqueuer`). Maps
 * registration ids to consoles and dispatches each wake-up's batch of events.
 */
import * as os from 'node:os';
import * as util from 'node:util';
import { binding, type EventsCallback, lastError, type NativeBinding, type NativeKqueue } from '../addon/binding';
import { Console } from '../tty/console';
import { codedError, kqueuerClosed, systemError } from '../errors';
import { validateFd, validateOptions } from '../validators';
import { wakeupOf, type Wakeup } from './wakeup';
import { validateConsoleOptions, type KqueueConsoleOptions } from '../stream/options';
import { adoptFd, consoleOwnsFd, streamClosesFd } from '../addon/fd-ownership';
import { kReady } from '../stream/ports';
import type { ChildHandlers, ChildWatch, SpawnRequest } from './child';
import { Children } from './children';
import { ConsoleRegistration, type RegistrationOwner } from './registration';
import { KqueueConsole } from '../stream/kqueue-console';
import { ReadBuffer } from '../stream/read-buffer';

const debug = util.debuglog('kqueue-console');

/** @internal How spawn() starts a program through a Kqueuer (see child.ts). */
export const kSpawnChild = Symbol('kqueue-console.spawnChild');

/** Options of {@link Kqueuer}'s constructor. */
export interface KqueuerOptions {
  /**
   * How the loop is woken; see {@link Wakeup}. Defaults to the environment
   * variable `KQUEUE_CONSOLE_WAKEUP` when set, else `'auto'`.
   */
  wakeup?: Wakeup;
}

/**
 * One dedicated kqueue, shared by any number of consoles (Go's
 * `NewKqueuer`). It is watched by the event loop of the thread that made the
 * Kqueuer: when the kqueue has events, the loop drains them and delivers them
 * in one batch, on that thread (see {@link Wakeup} for how the loop wakes).
 */
export class Kqueuer {
  private readonly native: NativeBinding;
  private kq: NativeKqueue | null;
  /** Registration ids are never reused, so a stale event can never reach a new console. */
  private nextId = 1;
  /** The consoles whose events are delivered, by registration id. */
  private readonly byId = new Map<number, KqueueConsole>();
  /** Every fd added and not yet given back, registered or not. */
  private readonly byFd = new Map<number, ConsoleRegistration>();
  private readonly children: Children;
  private readonly owner: RegistrationOwner;
  /** The buffer this Kqueuer's consoles read into, unless given a readBufferSize of their own. */
  private readonly readBuffer = new ReadBuffer();
  private waitingCount = 0;
  private refed = true;
  private loopRefed = false;
  private readonly done: Promise<void>;
  private settleDone!: (err?: Error) => void;

  /**
   * @throws ERR_INVALID_ARG_VALUE for an unknown `wakeup`;
   *   ERR_WAKEUP_UNAVAILABLE for `'poll'` or `'thread'` under Bun or Deno;
   *   ERR_KQUEUE_NOT_POLLABLE when `'poll'` is forced on a kqueue whose fd
   *   poll(2) never reports readable; errno errors from kqueue(), pipe(),
   *   poll() or fcntl() (`EMFILE`, ...).
   */
  constructor(options?: KqueuerOptions) {
    const wakeup = wakeupOf(validateOptions<KqueuerOptions>(options)?.wakeup);
    // Go passes methods around as values (`con.Shutdown(kq.CloseConsole)`):
    // these work detached too.
    this.add = this.add.bind(this);
    this.closeConsole = this.closeConsole.bind(this);
    this.wait = this.wait.bind(this);
    this.close = this.close.bind(this);
    this.native = binding();
    this.done = new Promise<void>((resolve, reject) => {
      this.settleDone = (err) => (err ? reject(err) : resolve());
    });
    // A rejection nobody awaits is not an unhandled one: wait() is optional.
    this.done.catch(() => {});
    this.owner = {
      native: this.native,
      kqueue: () => this.kq,
      waitingChanged: (delta) => {
        this.waitingCount += delta;
        this.updateLoopRef();
      },
      deregistered: (registration) => this.byId.delete(registration.id),
      released: (registration) => {
        if (this.byFd.get(registration.fd) === registration) this.byFd.delete(registration.fd);
      },
    };
    this.children = new Children({ native: this.native, kqueue: () => this.kq, refsChanged: () => this.updateLoopRef() });
    this.kq = openKqueue(this.native, wakeup, (batch, count, waitErrno) => this.dispatch(batch, count, waitErrno));
  }

  /** The kqueue fd, or -1 once closed. */
  get fd(): number {
    return this.kq?.fd ?? -1;
  }

  /** How the loop is woken (never `'auto'`: the probe's answer), or null once closed. */
  get wakeup(): Exclude<Wakeup, 'auto'> | null {
    return this.kq?.wakeup ?? null;
  }

  /** Whether {@link close} has been called (or waiting failed). */
  get closed(): boolean {
    return this.kq === null;
  }

  /**
   * Registers a console, or any pollable fd (pipe, socket, tty), and returns
   * its stream (Go's `Add`). The fd is made non-blocking; for an fd number it
   * is put back as it was when the console is destroyed without closing it.
   * @param target a {@link Console} (from openPty(), current(), Console.fromFd()) or an fd number.
   * @throws ERR_KQUEUER_CLOSED after close(); ERR_INVALID_ARG_TYPE /
   *   ERR_OUT_OF_RANGE for a bad fd or options; `EBADF` for a closed fd;
   *   ERR_NOT_POLLABLE for a regular file or a directory; `EEXIST` when the fd
   *   is already added; errno errors from kevent() or fcntl().
   */
  add(target: Console | number, options?: KqueueConsoleOptions): KqueueConsole {
    const opts = validateConsoleOptions(options);
    if (this.kq === null) throw kqueuerClosed();
    const { fd, tty } = this.targetOf(target);
    const autoClose = streamClosesFd(tty, opts.autoClose);
    const registration = new ConsoleRegistration(this.owner, this.kq, fd, this.nextId++);
    let con: KqueueConsole;
    try {
      con = KqueueConsole.create({
        fd,
        io: this.native,
        registration,
        console: tty,
        autoClose,
        options: opts,
        readBuffer: this.readBuffer,
      });
    } catch (err) {
      registration.release(true); // Out of the kqueue, and blocking again if it was.
      throw err;
    }
    // Nothing below can fail. An fd handed over with autoClose is the
    // library's from now on.
    if (autoClose && !consoleOwnsFd(tty)) adoptFd(fd);
    this.byId.set(registration.id, con);
    this.byFd.set(fd, registration);
    debug('add fd %d as id %d', fd, registration.id);
    return con;
  }

  /** add()'s target as an fd, and its Console if it is a tty; checks that it can be added. */
  private targetOf(target: Console | number): { fd: number; tty: Console | null } {
    let fd: number;
    let tty: Console | null = null;
    if (target instanceof Console) {
      target.assertOpen();
      fd = target.fd;
      tty = target;
    } else {
      fd = validateFd(target, 'target');
    }
    // fstat first: EBADF as a system error, and a clear refusal of what
    // cannot be polled (epoll refuses regular files; kqueue would report them
    // always ready, which is no use to a stream that waits for edges).
    const kind = this.native.fileKind(fd);
    if (kind < 0) throw lastError(this.native, fd);
    if (kind > 0) {
      throw codedError('ERR_NOT_POLLABLE', `fd ${fd} is a ${kind === 1 ? 'regular file' : 'directory'}, which cannot be polled`, { fd });
    }
    if (this.byFd.has(fd)) throw systemError(os.constants.errno.EEXIST, 'kevent', fd);
    if (tty === null && this.native.isatty(fd)) tty = Console.fromFd(fd);
    return { fd, tty };
  }

  /**
   * Stops the events of an fd (Go's `CloseConsole`): the default close of
   * {@link KqueueConsole.shutdown}. The fd stays open.
   * @throws ERR_INVALID_ARG_TYPE / ERR_OUT_OF_RANGE for a bad fd; `ENOENT`
   *   for an fd that is not registered.
   */
  closeConsole(fd: number): void {
    validateFd(fd);
    const registration = this.byFd.get(fd);
    if (registration === undefined || !registration.isRegistered) throw systemError(os.constants.errno.ENOENT, 'kevent', fd);
    registration.deregister();
  }

  /**
   * Resolves when the Kqueuer is closed; rejects if waiting for events
   * failed (Go's `Wait`). Events are delivered from the moment of add(),
   * whether or not this is called.
   */
  wait(): Promise<void> {
    return this.done;
  }

  /**
   * Lets the process keep running while a console waits for an event (the
   * default).
   */
  ref(): this {
    this.refed = true;
    this.updateLoopRef();
    return this;
  }

  /** Lets the process exit even while consoles wait for events. */
  unref(): this {
    this.refed = false;
    this.updateLoopRef();
    return this;
  }

  /**
   * Closes the kqueue and stops polling it. Consoles still added are
   * destroyed (a pending write fails with ERR_STREAM_DESTROYED; fds they own
   * are closed). Programs spawned through it that still run are no longer
   * watched: their `exited` rejects with ERR_KQUEUER_CLOSED, and the addon
   * reaps them when they exit. Idempotent; wait() resolves.
   */
  close(): void {
    this.shutdownWith(undefined);
  }

  private shutdownWith(err: Error | undefined): void {
    if (this.kq === null) return;
    for (const con of [...this.byId.values()]) con.destroy(err);
    const kq = this.kq;
    this.kq = null;
    kq.close();
    this.children.loseAll(err ?? codedError('ERR_KQUEUER_CLOSED', 'the Kqueuer was closed while the process ran'));
    this.settleDone(err);
  }

  private dispatch(batch: Float64Array, count: number, waitErrno: number): void {
    // With other consoles ready too, none of them waits for its kernel worker.
    const crowded = count > 1;
    // A listener that throws (say in 'data') must not cost the consoles after
    // it in the batch their events: edges do not come again. The first error
    // is thrown once all are delivered, as it would have been from a stream
    // of its own.
    let failed = false;
    let error: unknown;
    for (let i = 0; i < count; i++) {
      // An id that is gone was removed while its event was in flight: drop it.
      const id = batch[2 * i];
      const bits = batch[2 * i + 1];
      const con = this.byId.get(id);
      try {
        if (con !== undefined) con[kReady](bits, crowded);
        else if (bits & this.native.bits.EXITED) this.children.exited(id);
      } catch (err) {
        if (!failed) error = err;
        failed = true;
      }
    }
    if (waitErrno !== 0) {
      debug('waiting failed: errno %d', waitErrno);
      this.shutdownWith(systemError(waitErrno, 'kevent'));
    }
    if (failed) throw error;
  }

  /**
   * @internal Starts `request` on its pty slave and watches its exit with
   * this kqueue; `handlers` hear of it once: its exit status, or that it
   * can no longer be watched (the Kqueuer closed).
   * @throws ERR_KQUEUER_CLOSED; errno errors from the spawn's steps (as
   *   native/spawn.h names them), `ENOENT`/`EACCES` from execve among them.
   */
  [kSpawnChild](request: SpawnRequest, handlers: ChildHandlers): ChildWatch {
    if (this.kq === null) throw kqueuerClosed();
    return this.children.spawn(this.kq, this.nextId++, request, handlers);
  }

  /** The loop is held while a console waits or a ref'd child runs, unless the user unref'd. */
  private updateLoopRef(): void {
    const want = this.refed && (this.waitingCount > 0 || this.children.anyRefed);
    if (want === this.loopRefed || this.kq === null) return;
    this.loopRefed = want;
    if (want) this.kq.ref();
    else this.kq.unref();
  }
}

/** A native kqueue woken as `wakeup` says, with the errors of its making as Kqueuer's constructor documents them. */
function openKqueue(native: NativeBinding, wakeup: Wakeup, onEvents: EventsCallback): NativeKqueue {
  try {
    return new native.Kqueue(onEvents, native.wakeups[wakeup]);
  } catch (err) {
    const e = err as { errno?: number; syscall?: string };
    if (wakeup === 'poll' && e.errno === os.constants.errno.ENOTSUP && e.syscall === 'poll') {
      throw codedError('ERR_KQUEUE_NOT_POLLABLE', "this kqueue's fd is not pollable (libkqueue's is not); use wakeup 'thread' or 'auto'");
    }
    if (typeof e.errno === 'number') throw systemError(e.errno, e.syscall ?? 'kqueue');
    throw err;
  }
}

let shared: Kqueuer | undefined;

/**
 * @internal The Kqueuer used when none is given (spawn(), fromNodePty()): one
 * per thread, made on first use. It keeps the process alive only while a
 * console waits for an event or a spawned program runs.
 */
export function sharedKqueuer(): Kqueuer {
  if (shared === undefined || shared.closed) shared = new Kqueuer();
  return shared;
}
