/**
 * A client's input on its way to a program's console, shared by every
 * server here.
 * @module
 */
import type { Writable } from 'node:stream';

/**
 * Input a session's program may leave unread before its client is cut off.
 * The client's socket is not paused while input waits: a paused socket is
 * not read, so a client that goes away would not be seen to go, and its
 * session would last as long as its program ignores its input.
 */
export const MAX_INPUT = 4 << 20;

/**
 * A client's input on its way to the console, one write per turn of the
 * event loop: a socket read's frames are parsed in one go, and what they
 * hold is joined into one buffer and written when the turn's callbacks are
 * done. A flood of 1-byte frames then costs a write(2) per socket read,
 * not one per frame, and input that waits for the program is queued as a
 * few large chunks, not one small object per frame. `overflow` is called
 * once more than MAX_INPUT bytes wait.
 */
export function inputWriter(con: Writable, overflow: () => void): (data: string | Buffer) => void {
  let pending: Buffer[] = [];
  const flush = (): void => {
    const data = pending.length === 1 ? pending[0] : Buffer.concat(pending);
    pending = [];
    if (con.destroyed) return;
    con.write(data);
    if (con.writableLength > MAX_INPUT) overflow();
  };
  return (data) => {
    if (pending.length === 0) process.nextTick(flush);
    pending.push(typeof data === 'string' ? Buffer.from(data) : data);
  };
}
