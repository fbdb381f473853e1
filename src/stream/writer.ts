/**
 * The write side of a console. _write()/_writev() go straight to the fd from
 * the caller's buffers; a short write or EAGAIN/EIO waits for a WRITE edge
 * and goes on from where it stopped; the Writable's callback runs only once
 * every byte has gone to the kernel.
 *
 * After shutdown nothing waits: a write that cannot finish fails, as Node
 * fails the writes of a stream its user destroyed, through the caller's own
 * write() callback (ERR_CONSOLE_SHUTDOWN, with its own unwritten count) and
 * never as 'error'. For that the Writable sees the chunk completed, and the
 * failure reaches the caller's callback through the chunk's record.
 */
import * as os from 'node:os';
import { codedError, systemError } from '../errors';
import type { ShutdownError, WriteCallback } from './events';
import type { ConsoleIo } from './ports';

const { EAGAIN, EIO, EBADF } = os.constants.errno;

/** A write() with a callback, from write() until its chunk is done. */
interface WriteRecord {
  /** The chunk's number (see ConsoleWriter.chunksWritten). */
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
  /** The Writable's callback: without an error for a chunk that shutdown fails. */
  cb: WriteCallback;
}

/** What the writer needs of its stream. */
export interface WriterHost {
  readonly fd: number;
  readonly io: ConsoleIo;
  /** Whether WRITE edges are wanted (the registration's watchWrite): 0 or an errno. */
  watchWrite(on: boolean): number;
  /** The writer's `waiting` may have changed. */
  waitingChanged(): void;
  /** A write() callback ran: shutdown may be able to settle. */
  callbackRan(): void;
}

/**
 * - `'open'`: a write that cannot go on waits for a WRITE edge.
 * - `'shutDown'`: after shutdown, such a write fails instead.
 * - `'cutShort'`: a write was cut short at shutdown (every later one fails
 *   whole, so that no byte of theirs follows the gap its unwritten bytes
 *   left in the stream), or the fd was closed after it (fdGone()).
 */
type WriterPhase = 'open' | 'shutDown' | 'cutShort';

export class ConsoleWriter {
  /** A write that said EAGAIN/EIO and waits for a WRITE edge. */
  private pending: WriteRequest | null = null;
  /**
   * Chunks given to write(), and taken by _write()/_writev(). The Writable
   * hands chunks on in the order they were written, so the n-th chunk taken
   * is the n-th written. (A chunk refused after end() or destroy() is
   * numbered too; no chunk is taken after it.)
   */
  private chunksWritten = 0;
  private chunksTaken = 0;
  /** write() callbacks not run yet. */
  private unsettled = 0;
  /** Bytes of the writes that shutdown failed. */
  private notWritten = 0;
  private phase: WriterPhase = 'open';
  /** Records of the writes with a callback whose chunk is not done yet, oldest first. */
  private readonly records: WriteRecord[] = [];

  constructor(private readonly host: WriterHost) {}

  /** Waiting for a WRITE edge. Derived, never set. */
  get waiting(): boolean {
    return this.pending !== null;
  }

  /** Bytes of the writes that shutdown failed. */
  get bytesNotWritten(): number {
    return this.notWritten;
  }

  /** Whether a write() callback is still to run. */
  get callbacksOwed(): boolean {
    return this.unsettled > 0;
  }

  /**
   * Numbers a chunk given to write(), and returns the callback to give the
   * Writable: the caller's, through its record, or undefined when there is
   * none (nobody can be told of a failure: no record, nothing allocated).
   */
  track(cb: WriteCallback | undefined): WriteCallback | undefined {
    const seq = this.chunksWritten++;
    if (cb === undefined) return undefined;
    const record: WriteRecord = { seq, failure: null };
    this.records.push(record);
    this.unsettled++;
    return (err) => {
      this.unsettled--;
      try {
        // The Writable's success (null or undefined) becomes the failure shutdown recorded, if any.
        if (err == null && record.failure !== null) cb(record.failure);
        else cb(err);
      } finally {
        this.host.callbackRan();
      }
    };
  }

  /** Takes back the last track() when the Writable refused its chunk by throwing (no callback comes). */
  untrack(hadCallback: boolean): void {
    this.chunksWritten--;
    if (!hadCallback) return;
    this.records.pop();
    this.unsettled--;
  }

  /** _write()/_writev(): the Writable's next chunks. */
  take(chunks: Buffer[], total: number, cb: WriteCallback): void {
    const first = this.chunksTaken;
    this.chunksTaken += chunks.length;
    this.attempt({ chunks, first, total, done: 0, cb });
  }

  /** A WRITE or HANGUP edge: a waiting write goes on; room and nothing to write stops the WRITE edges. */
  edge(writable: boolean): void {
    const req = this.pending;
    if (req !== null) this.attempt(req);
    else if (writable) this.host.watchWrite(false);
  }

  /** Shutdown: from now on a write that would wait fails; the one waiting now goes or fails. */
  shutdown(): void {
    if (this.phase === 'open') this.phase = 'shutDown';
    const req = this.pending;
    if (req !== null) this.attempt(req);
  }

  /** The fd was closed after shutdown (KqueueConsole's [kReleaseFd]): every later write fails whole, never reaching the fd. */
  fdGone(): void {
    this.phase = 'cutShort';
  }

  /** The stream was destroyed: a waiting write fails with `error`; buffered chunks never come (the Writable fails them). */
  destroy(error: Error): void {
    const req = this.pending;
    this.pending = null;
    this.records.length = 0;
    req?.cb(error);
  }

  /** Writes what is left of `req`; completes it, waits for an edge, or fails it. */
  private attempt(req: WriteRequest): void {
    const { host } = this;
    // The registration hears only when waiting may change: this write was
    // waiting, or ends up waiting (not on every write that goes at once).
    const wasWaiting = this.pending === req;
    this.pending = null;
    if (this.phase === 'cutShort') {
      this.fail(req);
      if (wasWaiting) host.waitingChanged();
      return;
    }
    if (req.done < req.total) {
      const n =
        req.chunks.length === 1
          ? host.io.write(host.fd, req.chunks[0], req.done, req.total - req.done)
          : host.io.writev(host.fd, req.chunks, req.done);
      req.done += n;
    }
    if (req.done === req.total) {
      this.dropRecords(req.first + req.chunks.length);
      req.cb();
    } else {
      const errno = host.io.status[0];
      // After shutdown nothing waits; EBADF: the close callback closed the fd.
      if (this.phase !== 'open' && (errno === EAGAIN || errno === EIO || errno === EBADF)) this.fail(req);
      else if (errno !== EAGAIN && errno !== EIO) req.cb(systemError(errno, req.chunks.length === 1 ? 'write' : 'writev', host.fd));
      else this.wait(req);
    }
    if (wasWaiting || this.pending !== null) host.waitingChanged();
  }

  private wait(req: WriteRequest): void {
    // WRITE is watched only while a write waits; watching it reports the fd
    // at once if it has room again already, so no edge is missed.
    const err = this.host.watchWrite(true);
    if (err !== 0) req.cb(systemError(err, 'kevent', this.host.fd));
    else this.pending = req;
  }

  /** Fails each chunk of `req` not wholly written with its own count; the Writable sees them completed. */
  private fail(req: WriteRequest): void {
    this.phase = 'cutShort';
    let start = 0;
    req.chunks.forEach((chunk, i) => {
      const left = Math.min(chunk.length, start + chunk.length - req.done);
      start += chunk.length;
      if (left <= 0) return;
      this.notWritten += left;
      this.dropRecords(req.first + i);
      const record = this.records[0];
      if (record?.seq !== req.first + i) return; // Written with no callback.
      record.failure = codedError(
        'ERR_CONSOLE_SHUTDOWN',
        `console fd ${this.host.fd} was shut down with ${left} bytes of a write not written`,
        { bytesNotWritten: left, fd: this.host.fd },
      );
    });
    this.dropRecords(req.first + req.chunks.length);
    req.cb();
  }

  /** Forgets the records of chunks numbered below `end`: they are done (their callbacks hold the records). */
  private dropRecords(end: number): void {
    const { records } = this;
    while (records.length > 0 && records[0].seq < end) records.shift();
  }
}
