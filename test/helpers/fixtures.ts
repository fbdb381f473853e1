/**
 * Test fixtures that clean up after themselves. A fixture registers its
 * teardown with the test that made it, so that a failed assertion or a
 * timeout cannot leak a Kqueuer, a pty or a stream into the next test's fd
 * counts. The one way tests wait is in wait.ts, re-exported here.
 */
import { Kqueuer, openPty, type Pty } from '../../src/index';

export { WAIT_MS, deadline, settles, waitUntil, within } from './wait';

/** What a fixture needs of a tap test. */
export interface Teardown {
  teardown(fn: () => unknown): void;
}

/** A Kqueuer, closed when the test ends (its consoles with it). */
export function kqueuerFor(t: Teardown): Kqueuer {
  const kq = new Kqueuer();
  t.teardown(() => kq.close());
  return kq;
}

/** A pty pair, both sides closed when the test ends if they are still open. */
export function ptyFor(t: Teardown): Pty {
  const pty = openPty();
  t.teardown(() => {
    pty.master.close();
    pty.slave.close();
  });
  return pty;
}
