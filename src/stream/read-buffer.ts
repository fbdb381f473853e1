/**
 * @internal Where consoles read into: one buffer, filled by whichever console
 * reads next and handed out in slices, replaced by a fresh one when little
 * room is left. A Kqueuer's consoles share one, so that what a console costs
 * is what it has read, not a mostly empty buffer of its own (bench/RESULTS.md
 * has the W5 figures behind this). A slice is never written again once
 * handed out: the offset only grows, and a full buffer is replaced, not
 * rewound (test/reliability/chunks.test.ts holds every chunk to check).
 */
import { DEFAULT_READ_BUFFER_SIZE } from './options';

/** The most room a read buffer may have left and still be replaced by a fresh one. */
const MIN_READ_ROOM = 8 * 1024;

export class ReadBuffer {
  private buffer: Buffer = Buffer.alloc(0);
  private offset = 0;
  /** A buffer with less room than this left is replaced by a fresh one. */
  readonly minRoom: number;

  constructor(readonly size: number = DEFAULT_READ_BUFFER_SIZE) {
    this.minRoom = Math.min(MIN_READ_ROOM, size / 2);
  }

  /**
   * The buffer the next read goes into, at {@link start}, with at least
   * minRoom bytes free there: a fresh one when the current one has less.
   */
  reserve(): Buffer {
    if (this.buffer.length - this.offset < this.minRoom) {
      this.buffer = Buffer.allocUnsafe(this.size);
      this.offset = 0;
    }
    return this.buffer;
  }

  /** Where in the buffer the next read goes. */
  get start(): number {
    return this.offset;
  }

  /** The `n` bytes just read at {@link start}, handed out: no later read writes them again. */
  take(n: number): Buffer {
    const chunk = this.buffer.subarray(this.offset, this.offset + n);
    this.offset += n;
    return chunk;
  }
}
