// A hang-up is not an end: the slave closes and reopens, and meanwhile the
// console neither ends, errors, nor spins. In a file of its own so that no
// other test's garbage collection is billed to its CPU window.
import * as fs from 'node:fs';
import t from 'tap';
import { binding } from '../src/binding';
import { Kqueuer, openPty } from '../src/index';
import { kReady } from '../src/kqueue-console';
import { cpuMs, libraryThreadsCpuMs } from './helpers/fds';
import { collect, dataUntil } from './helpers/pty';

t.test('hang-up: the slave closes and reopens; the stream neither ends nor spins', async (t) => {
  const { HANGUP } = binding().bits;
  const kq = new Kqueuer();
  const { master, slave, slavePath } = openPty();
  const con = kq.add(master);
  const out = collect(con);
  let ended = false;
  let errored: Error | null = null;
  con.on('end', () => (ended = true));
  con.on('error', (err) => (errored = err));

  // Count the wake-ups that reach the console.
  const wakeups: number[] = [];
  let onHangup: () => void = () => {};
  const deliver = con[kReady].bind(con);
  con[kReady] = (bits: number): void => {
    wakeups.push(bits);
    if (bits & HANGUP) onHangup();
    deliver(bits);
  };

  fs.writeSync(slave.fd, 'before\n');
  await dataUntil(con, () => out.text().includes('before'));
  const hungUp = new Promise<void>((resolve) => (onHangup = resolve));
  slave.close(); // The last slave fd: the master reports a hang-up, then EIO.
  await hungUp;

  const wakeupsBefore = wakeups.length;
  const cpuBefore = libraryThreadsCpuMs();
  const processCpuBefore = cpuMs();
  const started = Date.now();
  await new Promise((r) => setTimeout(r, 2000)); // A measurement window, not a wait for an event.
  const elapsed = Date.now() - started;
  const cpu = libraryThreadsCpuMs() - cpuBefore;
  const quiet = wakeups.length - wakeupsBefore;
  t.equal(quiet, 0, `no wake-up reached the console in ${elapsed} ms of hang-up`);
  t.ok(
    (cpu * 1000) / elapsed <= 10,
    `loop and waiter threads: ${cpu} ms of CPU in ${elapsed} ms, at most 10 ms per second ` +
      `(whole process, V8's own threads included: ${(cpuMs() - processCpuBefore).toFixed(1)} ms)`,
  );

  const again = fs.openSync(slavePath, fs.constants.O_RDWR | fs.constants.O_NOCTTY);
  fs.writeSync(again, 'after reopen\n');
  await dataUntil(con, () => out.text().includes('after reopen'));
  t.pass('bytes written after the reopen arrive');
  t.equal(out.text(), 'before\r\nafter reopen\r\n', 'exactly the bytes written');
  t.notOk(ended, "no 'end' was emitted");
  t.equal(errored, null, "no 'error' was emitted");
  fs.closeSync(again);
  await con.shutdown();
  await con.close();
  kq.close();
});
