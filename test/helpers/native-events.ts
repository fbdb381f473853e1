import { binding, type NativeKqueue } from '../../src/addon/binding';
import { WAIT_MS, settles } from './wait';

/**
 * The wake-up the native tests ask for: KQUEUE_CONSOLE_WAKEUP (which the
 * Kqueuer reads itself) as the addon's number, 0 (probe) when unset. CI runs
 * the native tests once more with it set to `thread`.
 */
const wanted = process.env.KQUEUE_CONSOLE_WAKEUP;
export const WAKEUP = wanted === 'poll' || wanted === 'thread' || wanted === 'tsfn' ? binding().wakeups[wanted] : binding().wakeups.auto;

export interface Delivery {
  id: number;
  bits: number;
}

/**
 * A native Kqueue whose deliveries are recorded, with a way to wait for the
 * next one that matches. Used by the tests of the native layer.
 */
export class RecordingKqueue {
  readonly kq: NativeKqueue;
  calls = 0;
  events: Delivery[] = [];
  waitErrno = 0;
  private waiters: { match: (d: Delivery) => boolean; resolve: (d: Delivery) => void }[] = [];

  constructor() {
    this.kq = new (binding().Kqueue)((batch, count, waitErrno) => {
      this.calls++;
      this.waitErrno ||= waitErrno;
      for (let i = 0; i < count; i++) {
        const d = { id: batch[2 * i], bits: batch[2 * i + 1] };
        this.events.push(d);
        this.waiters = this.waiters.filter((w) => {
          if (!w.match(d)) return true;
          w.resolve(d);
          return false;
        });
      }
    }, WAKEUP);
  }

  /** Resolves with the next delivery that matches (not one already seen); rejects when none comes within `ms`. */
  next(match: (d: Delivery) => boolean, what = 'the event waited for', ms = WAIT_MS): Promise<Delivery> {
    return settles(what, new Promise((resolve) => this.waiters.push({ match, resolve })), ms);
  }
}
