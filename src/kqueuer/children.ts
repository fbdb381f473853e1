/**
 * @internal The processes spawned through a Kqueuer, from the fork until
 * they are reaped: their exits come as EXITED events of the same kqueue
 * (EVFILT_PROC, NOTE_EXIT).
 */
import * as util from 'node:util';
import { lastError, type NativeBinding, type NativeKqueue } from '../addon/binding';
import { signalName, type ChildHandlers, type ChildWatch, type ExitStatus, type SpawnRequest } from './child';

const debug = util.debuglog('kqueue-console');

/** A process spawned through this Kqueuer, until it has been reaped. */
interface Child {
  id: number;
  pid: number;
  handlers: ChildHandlers;
  /** Whether it keeps the event loop alive while it runs (ChildProcess's ref()). */
  refed: boolean;
}

/** @internal What the children need of their Kqueuer. */
export interface ChildrenOwner {
  readonly native: NativeBinding;
  /** The kqueue, or null once the Kqueuer is closed. */
  kqueue(): NativeKqueue | null;
  /** Whether a ref'd child runs may have changed. */
  refsChanged(): void;
}

/** @internal */
export class Children {
  private readonly byId = new Map<number, Child>();

  constructor(private readonly owner: ChildrenOwner) {}

  /** Whether a running child keeps the event loop alive. Derived, never counted. */
  get anyRefed(): boolean {
    for (const child of this.byId.values()) if (child.refed) return true;
    return false;
  }

  /**
   * Starts `request` under registration id `id`.
   * @throws errno errors from the spawn's steps (native/spawn.h).
   */
  spawn(kq: NativeKqueue, id: number, request: SpawnRequest, handlers: ChildHandlers): ChildWatch {
    const pid = kq.spawn(id, request.paths, request.argv, request.envp, request.cwd, request.slaveFd);
    if (pid < 0) throw lastError(this.owner.native);
    const child: Child = { id, pid, handlers, refed: true };
    this.byId.set(id, child);
    this.owner.refsChanged();
    debug('spawn pid %d as id %d', pid, id);
    // A child that exited before its watch was in place (macOS refuses to
    // watch a zombie) raises no event: look once.
    process.nextTick(() => this.reap(child, false));
    return {
      pid,
      ref: () => this.setRefed(child, true),
      unref: () => this.setRefed(child, false),
    };
  }

  /** An EXITED event for registration id `id`, if it is a child's. */
  exited(id: number): void {
    const child = this.byId.get(id);
    if (child !== undefined) this.reap(child, true);
  }

  /**
   * The Kqueuer has closed: no exit can be watched any more (the addon hands
   * the processes to its orphans' reaper, native/reaper.cc, so none is left
   * a zombie), and each owner hears `err`.
   */
  loseAll(err: Error): void {
    const children = [...this.byId.values()];
    this.byId.clear();
    for (const child of children) child.handlers.lost(err);
  }

  /** Reaps `child` if it has exited; `exited`: its exit event came. */
  private reap(child: Child, exited: boolean): void {
    const kq = this.owner.kqueue();
    if (kq === null || this.byId.get(child.id) !== child) return;
    // The kernel's kqueue may post NOTE_EXIT a moment before the process is
    // a zombie (FreeBSD's exit1()): then waitpid() waits for that moment. A
    // pidfd (the emulation, libkqueue) is readable only once it is one.
    const status = kq.reap(child.pid, exited && this.owner.native.backend === 'kernel');
    if (status === null) return;
    this.byId.delete(child.id);
    if (child.refed) this.owner.refsChanged();
    if (status === -1) {
      child.handlers.lost(lastError(this.owner.native));
      return;
    }
    const [code, signal] = status;
    const exit: ExitStatus = signal === 0 ? { exitCode: code, signal: null } : { exitCode: null, signal: signalName(signal) };
    debug('pid %d exited: %o', child.pid, exit);
    child.handlers.exited(exit);
  }

  private setRefed(child: Child, refed: boolean): void {
    if (child.refed === refed || this.byId.get(child.id) !== child) return;
    child.refed = refed;
    this.owner.refsChanged();
  }
}
