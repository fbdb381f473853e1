// The native Kqueue on real ptys: edges reach JavaScript through the loop's
// poll of the kqueue fd, WRITE only while watched, a hang-up is one event,
// events are batched per wake-up, and teardown (close, worker exit, process
// exit) is clean.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import t from 'tap';
import { addonPath, binding } from '../src/addon/binding';
import { fdsBackTo, isOpen, openFdCount } from './helpers/fds';
import { waiterThreads, waiterThreadsBackTo } from './helpers/threads';
import { RecordingKqueue, WAKEUP } from './helpers/native-events';
import { within } from './helpers/fixtures';

const native = binding();
const { READABLE, WRITABLE, HANGUP } = native.bits;

function openPty(): { master: number; slave: number } {
  const pty = native.openPty();
  if (!pty) throw new Error(`openPty failed: errno ${native.status[0]}`);
  return { master: pty[0], slave: pty[1] };
}

/** Blocks the loop thread, so that events pile up in the kqueue. */
function blockLoop(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

t.test('READ and WRITE edges reach JavaScript through the poll of the kqueue', async (t) => {
  const rec = new RecordingKqueue();
  const { master, slave } = openPty();
  rec.kq.ref();
  t.equal(rec.kq.add(master, 7), 0, 'add() reports that it made the master non-blocking');

  const readable = rec.next((d) => d.id === 7 && (d.bits & READABLE) !== 0);
  fs.writeSync(slave, 'hello');
  await readable;
  const buf = Buffer.alloc(64);
  t.equal(native.read(master, buf, 0, 64), 5, 'the data is there to read');
  t.equal(buf.subarray(0, 5).toString(), 'hello');
  t.equal(native.status[0], 11, 'the read loop stopped on EAGAIN');
  t.notOk(
    rec.events.some((d) => d.bits & WRITABLE),
    'no WRITE event while WRITE is not watched',
  );

  const writable = rec.next((d) => d.id === 7 && (d.bits & WRITABLE) !== 0);
  t.equal(rec.kq.watchWrite(master, 7, true), 0, 'WRITE is watched');
  await writable;
  t.pass('a master with room reports WRITE as soon as it is watched');
  t.equal(rec.kq.watchWrite(master, 7, false), 0, 'and is no longer');
  const events = rec.events.length;
  const readableAgain = rec.next((d) => d.id === 7 && (d.bits & READABLE) !== 0);
  fs.writeSync(slave, 'again');
  await readableAgain;
  t.notOk(
    rec.events.slice(events).some((d) => d.bits & WRITABLE),
    'no WRITE event once unwatched',
  );
  native.read(master, buf, 0, 64);
  t.equal(rec.waitErrno, 0, 'waiting reported no error');

  rec.kq.close();
  t.equal(rec.kq.fd, -1, 'fd is -1 once closed');
  t.equal(rec.kq.add(master, 8), -1, 'add after close fails');
  t.equal(native.status[0], 9, 'with EBADF');
  native.closeOwned(master);
  native.closeOwned(slave);
});

t.test('a hung-up pty master yields one EOF event, not a stream of them', async (t) => {
  const rec = new RecordingKqueue();
  const { master, slave } = openPty();
  rec.kq.ref();
  rec.kq.add(master, 1);
  const hangup = rec.next((d) => (d.bits & HANGUP) !== 0);
  native.closeOwned(slave);
  const d = await hangup;
  t.equal(d.bits & READABLE, READABLE, 'a hang-up is reported readable (the stream takes it as both)');
  const before = rec.events.length;
  // Count what else arrives over 500 ms: a level-triggered poll would report
  // the hang-up again on every wait.
  await new Promise((r) => setTimeout(r, 500));
  const hangups = rec.events.filter((e) => e.bits & HANGUP).length;
  t.equal(hangups, 1, 'exactly one hang-up event in 500 ms');
  t.equal(rec.events.length, before, 'and no other event after it');
  const buf = Buffer.alloc(16);
  t.equal(native.read(master, buf, 0, 16), 0, 'nothing to read');
  t.equal(native.status[0], 5, 'the master says EIO');
  rec.kq.close();
  native.closeOwned(master);
});

t.test('1,000 readiness events from 100 fds arrive in far fewer JavaScript calls', async (t) => {
  const rec = new RecordingKqueue();
  rec.kq.ref();
  const ptys = Array.from({ length: 100 }, openPty);
  ptys.forEach((p, i) => rec.kq.add(p.master, i + 1));
  const buf = Buffer.alloc(4096);
  const callsBefore = rec.calls;
  let readableEvents = 0;
  for (let round = 0; round < 10; round++) {
    rec.events = [];
    for (const p of ptys) fs.writeSync(p.slave, 'x');
    const pending = new Set(ptys.map((_, i) => i + 1));
    while (pending.size > 0) {
      await rec.next((d) => (d.bits & READABLE) !== 0);
      for (const e of rec.events) if (e.bits & READABLE) pending.delete(e.id);
    }
    readableEvents += rec.events.filter((e) => e.bits & READABLE).length;
    for (const p of ptys) native.read(p.master, buf, 0, buf.length);
  }
  const calls = rec.calls - callsBefore;
  t.ok(readableEvents >= 1000, `${readableEvents} readiness events were delivered`);
  t.ok(calls * 4 <= readableEvents, `in ${calls} calls into JavaScript (at most a quarter of the events)`);
  rec.kq.close();
  for (const p of ptys) {
    native.closeOwned(p.master);
    native.closeOwned(p.slave);
  }
});

t.test('closing the Kqueue with events pending neither crashes nor leaks an fd', async (t) => {
  const baseline = openFdCount();
  for (let round = 0; round < 20; round++) {
    const rec = new RecordingKqueue();
    rec.kq.ref();
    const ptys = Array.from({ length: 20 }, openPty);
    ptys.forEach((p, i) => rec.kq.add(p.master, i + 1));
    for (const p of ptys) fs.writeSync(p.slave, 'pending');
    blockLoop(5); // The events wait in the kqueue meanwhile.
    const calls = rec.calls;
    rec.kq.close();
    rec.kq.close(); // Idempotent.
    await new Promise((r) => setImmediate(r));
    t.equal(rec.calls, calls, `round ${round}: no delivery after close`);
    for (const p of ptys) {
      t.ok(isOpen(p.master), 'Kqueue.close() did not close a registered fd');
      native.closeOwned(p.master);
      native.closeOwned(p.slave);
    }
  }
  fdsBackTo(t, baseline, 'open fds are back to the baseline');
});

t.test('a Kqueue in a Worker terminated mid-wait is cleaned up', async (t) => {
  const baseline = openFdCount();
  const threads = waiterThreads();
  for (let i = 0; i < 5; i++) {
    const worker = new Worker(
      `
      const { parentPort } = require('node:worker_threads');
      const native = require(${JSON.stringify(addonPath())});
      const kq = new native.Kqueue(() => {}, ${WAKEUP});
      const [master, slave] = native.openPty();
      kq.add(master, 1);
      kq.ref();
      parentPort.postMessage({ kq: kq.fd, master, slave });
      `,
      { eval: true, execArgv: [] },
    );
    const [fds] = (await within('worker: message', worker, 'message', 120_000)) as [{ kq: number; master: number; slave: number }];
    t.ok(isOpen(fds.kq), 'the worker has its kqueue open and is waiting');
    await worker.terminate();
    t.notOk(isOpen(fds.kq), 'terminating the worker closed its kqueue');
    t.equal(await waiterThreadsBackTo(threads), threads, 'and joined its waiter thread, if it had one');
    // The worker's environment owned the pty (openPty made it) and closed it
    // on its way out: nothing of a terminated worker stays open.
    t.notOk(isOpen(fds.master) || isOpen(fds.slave), 'and the pty its environment owned');
  }
  fdsBackTo(t, baseline, 'no fd leaked across 5 workers');

  const rec = new RecordingKqueue();
  rec.kq.ref();
  const { master, slave } = openPty();
  const readable = rec.next((d) => (d.bits & READABLE) !== 0);
  rec.kq.add(master, 1);
  fs.writeSync(slave, 'x');
  await readable;
  t.pass('the main thread carries on with a Kqueue of its own');
  rec.kq.close();
  native.closeOwned(master);
  native.closeOwned(slave);
});

function runNode(code: string): Promise<{ code: number | null; stdout: string; ms: number }> {
  const started = Date.now();
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  return within('child: close', child, 'close', 120_000).then(([exit]) => ({
    code: exit as number | null,
    stdout,
    ms: Date.now() - started,
  }));
}

t.test("the process exits on its own when the only Kqueue left is idle or unref'd", async (t) => {
  const load = `const native = require(${JSON.stringify(addonPath())});`;
  const idle = await runNode(`${load}
    const kq = new native.Kqueue(() => {}, ${WAKEUP});
    const [master] = native.openPty();
    kq.add(master, 1); // The kqueue is being polled.
    console.log('idle');`);
  t.same([idle.code, idle.stdout.trim()], [0, 'idle'], 'an idle Kqueue being polled does not hold the process');

  const reffed = await runNode(`${load}
    const fs = require('node:fs');
    const kq = new native.Kqueue((batch, count) => {
      for (let i = 0; i < count; i++) {
        if (batch[2 * i + 1] & native.bits.READABLE) { console.log('event'); kq.unref(); }
      }
    }, ${WAKEUP});
    const [master, slave] = native.openPty();
    kq.add(master, 1);
    kq.ref();
    // An unref'd timer: only the ref'd Kqueue can keep the process alive
    // until it fires.
    setTimeout(() => fs.writeSync(slave, 'x'), 200).unref();`);
  t.same([reffed.code, reffed.stdout.trim()], [0, 'event'], "a ref'd Kqueue holds the process until unref()");

  const open = await runNode(`${load}
    const kq = new native.Kqueue(() => {}, ${WAKEUP});
    const [master] = native.openPty();
    kq.add(master, 1);
    process.exit(0);`);
  t.equal(open.code, 0, 'process.exit() with a Kqueue open exits cleanly through the cleanup hook');
});
