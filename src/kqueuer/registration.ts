/**
 * @internal One fd's place in a Kqueuer's kqueue, from add() until its
 * console is gone: the {@link Registration} a console stream is given.
 */
import * as util from 'node:util';
import { lastError, type NativeBinding, type NativeKqueue } from '../addon/binding';
import type { Registration } from '../stream/ports';

const debug = util.debuglog('kqueue-console');

/** @internal What a registration needs of its Kqueuer. */
export interface RegistrationOwner {
  readonly native: NativeBinding;
  /** The kqueue, or null once the Kqueuer is closed. */
  kqueue(): NativeKqueue | null;
  /** A registration started (+1) or stopped (-1) waiting for an edge. */
  waitingChanged(delta: 1 | -1): void;
  /** The fd left the kqueue: its id's events are no longer delivered. */
  deregistered(registration: ConsoleRegistration): void;
  /** The console is gone: the fd may be added again. */
  released(registration: ConsoleRegistration): void;
}

/** @internal */
export class ConsoleRegistration implements Registration {
  /** Whether the fd is still in the kqueue. */
  private registered = true;
  /** Whether add() set O_NONBLOCK, to clear it when the fd is given back. */
  private madeNonBlocking: boolean;
  private waiting = false;
  /** Whether WRITE is in the kqueue (only while a write waits). */
  private writeWatched = false;

  /**
   * Adds `fd` to the kqueue under `id` (READ, and non-blocking).
   * @throws errno errors from kevent() or fcntl(); then nothing was done.
   */
  constructor(
    private readonly owner: RegistrationOwner,
    kq: NativeKqueue,
    readonly fd: number,
    readonly id: number,
  ) {
    const result = kq.add(fd, id);
    if (result < 0) throw lastError(owner.native, fd);
    this.madeNonBlocking = result === 0;
  }

  get isRegistered(): boolean {
    return this.registered;
  }

  setWaiting(waiting: boolean): void {
    if (this.waiting === waiting) return;
    this.waiting = waiting;
    this.owner.waitingChanged(waiting ? 1 : -1);
  }

  watchWrite(on: boolean): number {
    const kq = this.owner.kqueue();
    if (this.writeWatched === on || !this.registered || kq === null) return 0;
    if (kq.watchWrite(this.fd, this.id, on) !== 0) {
      debug('watch write fd %d %s: errno %d', this.fd, on, this.owner.native.status[0]);
      return this.owner.native.status[0];
    }
    this.writeWatched = on;
    return 0;
  }

  deregister(): void {
    if (!this.registered) return;
    this.registered = false;
    this.writeWatched = false;
    this.owner.deregistered(this);
    // ENOENT/EBADF: the fd was closed under us (its knotes went with it).
    const kq = this.owner.kqueue();
    if (kq !== null && kq.remove(this.fd) !== 0) debug('remove fd %d: errno %d', this.fd, this.owner.native.status[0]);
  }

  release(fdStillOpen: boolean): void {
    this.deregister();
    this.setWaiting(false);
    this.owner.released(this);
    if (fdStillOpen && this.madeNonBlocking) {
      this.madeNonBlocking = false;
      this.owner.native.setNonBlocking(this.fd, false);
    }
  }
}
