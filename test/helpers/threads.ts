/**
 * The waker's threads, counted from /proc. Imports nothing of the library,
 * so that test/runtime/runtimes.test.ts can use it under Deno too.
 */
import * as fs from 'node:fs';
import { waitUntil } from './wait';

/**
 * The threads of this process named `kqueue-waiter` (native/waker.cc names
 * them): one per Kqueue in thread mode, from open to close.
 */
export function waiterThreads(): number {
  let n = 0;
  for (const tid of fs.readdirSync('/proc/self/task')) {
    try {
      if (fs.readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() === 'kqueue-waiter') n++;
    } catch {
      // The thread ended while the list was read.
    }
  }
  return n;
}

/**
 * Waits until `count` kqueue-waiter threads are left. A joined thread has
 * run to its end, but the kernel lists it in /proc/<pid>/task until it is
 * reaped, a moment later (under qemu-user, many moments): pthread_join
 * returns on the CLONE_CHILD_CLEARTID wake-up, which comes first.
 */
export async function waiterThreadsBackTo(count: number): Promise<number> {
  await waitUntil(`the kqueue-waiter threads back to ${count} (${waiterThreads()} now)`, () => waiterThreads() === count, { ms: 2000 });
  return waiterThreads();
}
