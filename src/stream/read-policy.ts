/**
 * When a console's read may stop before the fd says EAGAIN: a pure function
 * from the console's situation to the native read's two early-stop flags.
 *
 * The contract. Reads are edge-triggered: a console waits for the next READ
 * edge only once a read found the fd empty. A read may stop early, before it
 * has heard EAGAIN, only where the kernel is sure to raise a new edge for any
 * byte that arrives after the stop; the native read then reports EAGAIN,
 * since what follows is the same as after one (wait for that edge).
 *
 * - `stopSmall`: a pty master's read stops after a short read (under 1 KiB,
 *   with room left). Its line discipline is never canonical (the kernel sets
 *   the master's termios raw: Linux drivers/tty/pty.c, unix98_pty_init's
 *   ptm_driver->init_termios; FreeBSD's pts master reads the output queue
 *   directly, sys/kern/tty_pts.c ptsdev_read), so a short read emptied it,
 *   and any later byte wakes the fd's waiters: a new edge.
 * - `noWait`: a tty's read stops when FIONREAD says nothing is queued instead
 *   of waiting for the kernel's worker still moving the writer's bytes in
 *   (Linux: n_tty_read waits for flush_to_ldisc even on a non-blocking fd,
 *   drivers/tty/n_tty.c and tty_buffer.c). Only when other consoles' events
 *   came in the same batch (`crowded`): a lone console loses nothing by
 *   that wait, and the worker's later bytes raise an edge of their own.
 *
 * Neither while a hang-up edge waits for its EIO (no other edge will come for
 * the bytes before it), nor in shutdown's read-out (which must take every byte
 * the kernel still holds): then reads go on to EAGAIN or EIO.
 */

/** What the read policy looks at. */
export interface ReadSituation {
  /** The fd is a tty (a Console). */
  isTty: boolean;
  /** The fd is a pty master (ptsname() names its slave). */
  ptyMaster: boolean;
  /** Other consoles' events came in the same batch as this one's. */
  crowded: boolean;
  /** A hang-up edge came and no read has said EIO or EAGAIN since. */
  hangupPending: boolean;
  /** Shutdown is reading what the fd still holds. */
  readingOut: boolean;
}

/** The native read's early-stop flags. */
export interface ReadFlags {
  noWait: boolean;
  stopSmall: boolean;
}

const flags = (noWait: boolean, stopSmall: boolean): ReadFlags => Object.freeze({ noWait, stopSmall });
/** Every answer, made once: reads are the hot path. Indexed [noWait][stopSmall]. */
const FLAGS = [
  [flags(false, false), flags(false, true)],
  [flags(true, false), flags(true, true)],
] as const;

/** The flags for a read in `s`. */
export function readFlags(s: ReadSituation): ReadFlags {
  const readOn = !s.isTty || s.hangupPending || s.readingOut;
  return FLAGS[!readOn && s.crowded ? 1 : 0][!readOn && s.ptyMaster ? 1 : 0];
}
