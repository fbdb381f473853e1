// Shutdown at random moments with reads and writes in flight, and fd numbers
// reused at once by new consoles.
import t from 'tap';
import { binding } from '../../src/addon/binding';
import { Kqueuer, openPty, type KqueueConsole, type ShutdownError } from '../../src/index';
import { kReady } from '../../src/stream/ports';
import { scaled, rng, seed } from '../helpers/scale';

const { READABLE } = binding().bits;
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Records the wake-ups a console gets, from now on. */
function recordWakeups(con: KqueueConsole): number[] {
  const seen: number[] = [];
  const deliver = con[kReady].bind(con);
  con[kReady] = (bits: number): void => {
    seen.push(bits);
    deliver(bits);
  };
  return seen;
}

t.test(`shutdown() at random moments with reads and writes in flight, ${scaled(1000)} times`, async (t) => {
  const runSeed = seed();
  const random = rng(runSeed);
  t.comment(`seed ${runSeed} (KQC_SEED=${runSeed} replays it)`);
  const kq = new Kqueuer();
  let closeCalls = 0;
  let lateEvents = 0;
  let slowest = 0;
  let failedWrites = 0;
  for (let i = 0; i < scaled(1000); i++) {
    const { master, slave } = openPty();
    master.setRaw({ opost: false });
    const a = kq.add(master);
    const b = kq.add(slave);
    // Shutdown never emits 'error': a write it leaves unfinished fails
    // through its own callback, with its own unwritten count.
    let pendingCallbacks = 0;
    let notWritten = 0;
    // Per console, per write in order: its size and bytes not written.
    const outcomes = new Map([a, b].map((c) => [c, [] as { size: number; notWritten: number }[]]));
    for (const c of [a, b]) {
      c.on('error', (err: NodeJS.ErrnoException) => t.fail(`run ${i}: unexpected 'error' ${err.code}`));
      c.resume();
      for (let w = 0; w < 3; w++) {
        const size = Math.floor(random() * 65536);
        const outcome = { size, notWritten: 0 };
        outcomes.get(c)!.push(outcome);
        pendingCallbacks++;
        c.write(Buffer.alloc(size, 0x61 + w), (err) => {
          pendingCallbacks--;
          if (err == null) return;
          const e = err as ShutdownError;
          outcome.notWritten = e.bytesNotWritten;
          if (e.code !== 'ERR_CONSOLE_SHUTDOWN' || !(e.bytesNotWritten > 0 && e.bytesNotWritten <= size)) {
            t.fail(`run ${i}: write of ${size} failed with ${e.code}, ${e.bytesNotWritten} not written`);
          }
          if (c === a) notWritten += e.bytesNotWritten;
          failedWrites++;
        });
      }
    }
    const wakeups = recordWakeups(a);
    for (let k = Math.floor(random() * 6); k > 0; k--) await tick();
    let calls = 0;
    const started = Date.now();
    const settled = a.shutdown((fd) => {
      calls++;
      kq.closeConsole(fd);
    });
    const after = wakeups.length;
    const both = random() < 0.5 ? b.shutdown() : Promise.resolve();
    const [result] = await Promise.race([
      Promise.all([settled, both]),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`run ${i}: shutdown did not settle in 5 s`)), 5000)),
    ]);
    if (result.bytesNotWritten !== notWritten)
      t.fail(`run ${i}: shutdown() reported ${result.bytesNotWritten} bytes not written, the callbacks ${notWritten}`);
    slowest = Math.max(slowest, Date.now() - started);
    await tick();
    if (wakeups.length !== after) lateEvents++;
    closeCalls += calls === 1 ? 1 : 0;
    await a.close();
    await b.shutdown();
    await b.close();
    if (pendingCallbacks !== 0) t.fail(`run ${i}: ${pendingCallbacks} write callbacks never ran`);
    // A write cut short leaves a gap: no byte of a later write may follow it.
    for (const list of outcomes.values()) {
      const cut = list.findIndex((o) => o.notWritten > 0);
      if (cut >= 0 && list.slice(cut + 1).some((o) => o.notWritten !== o.size)) {
        t.fail(`run ${i}: a write after one cut short was written in part: ${JSON.stringify(list)}`);
      }
    }
  }
  t.equal(closeCalls, scaled(1000), 'the close callback ran exactly once every time');
  t.equal(lateEvents, 0, 'no event reached a console after its shutdown');
  t.ok(
    slowest < 5000,
    `every shutdown settled (slowest ${slowest} ms); ${failedWrites} unfinished writes failed with ERR_CONSOLE_SHUTDOWN`,
  );
  kq.close();
});

t.test(`fd numbers reused at once by new consoles, ${scaled(1000)} times: no stale event wakes the new one`, async (t) => {
  const kq = new Kqueuer();
  let reused = 0;
  let stale = 0;
  for (let i = 0; i < scaled(1000); i++) {
    const { master, slave } = openPty();
    master.setRaw({ opost: false });
    const a = kq.add(master);
    const b = kq.add(slave);
    a.resume();
    b.write(Buffer.alloc(32 * 1024, 'z')); // Keeps READ edges coming for the old master.
    await tick();
    const oldFds = [master.fd, slave.fd];
    a.destroy();
    b.destroy();
    // In the same tick: new ptys take the lowest free numbers, the old ones.
    const fresh = openPty();
    const c = kq.add(fresh.master);
    const d = kq.add(fresh.slave);
    if (oldFds.includes(c.fd) || oldFds.includes(d.fd)) reused++;
    const cw = recordWakeups(c);
    const dw = recordWakeups(d);
    c.resume();
    d.resume();
    for (let k = 0; k < 3; k++) await tick();
    // Nothing was written to the new pty: any READABLE here is stale.
    if (cw.some((bits) => bits & READABLE) || dw.some((bits) => bits & READABLE)) stale++;
    await c.close();
    await d.close();
  }
  t.ok(reused > scaled(900), `the old fd numbers were reused in ${reused} runs`);
  t.equal(stale, 0, 'no READ event of an old console reached a new one');
  kq.close();
});
