// shutdown(close): its four steps (README, API) on real ptys.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { openPty, type ShutdownError } from '../src/index';
import { isOpen } from './helpers/fds';
import { collect } from './helpers/pty';
import { kqueuerFor, ptyFor, settles, waitUntil, within } from './helpers/fixtures';

t.test('the close callback runs exactly once, with the fd, before end; a second call returns the same promise', async (t) => {
  const kq = kqueuerFor(t);
  const { master } = ptyFor(t);
  const con = kq.add(master);
  const order: string[] = [];
  const calls: number[] = [];
  con.on('end', () => order.push('end'));
  con.resume();
  const close = (fd: number): void => {
    calls.push(fd);
    order.push('close');
    kq.closeConsole(fd);
  };
  const first = con.shutdown(close);
  const second = con.shutdown(close);
  t.equal(second, first, 'the same promise');
  t.equal(con.shutdown(), first, 'also without a callback');
  // Listened for first: 'end' may come before the promise's continuation.
  const ended = within('con: end', con, 'end');
  await first;
  await ended;
  t.same(calls, [master.fd], 'called once, with the fd');
  t.same(order, ['close', 'end'], "before 'end'");
  t.throws(() => kq.closeConsole(master.fd), { code: 'ENOENT' }, 'the default close (closeConsole) already deregistered it');
  await con.close();
});

t.test('a pending read drains what the fd holds, then ends', async (t) => {
  const kq = kqueuerFor(t);
  const { master, slave } = ptyFor(t);
  slave.setRaw({ opost: false });
  const con = kq.add(master);
  const out = collect(con);
  fs.writeSync(slave.fd, 'first');
  await waitUntil("out.text() === 'first'", () => out.text() === 'first', { on: con });
  // The reader now waits for an edge. Write more and hang up, then shut
  // down before the edge is handled: shutdown must read it itself.
  fs.writeSync(slave.fd, ' and last');
  slave.close();
  const ended = within('con: end', con, 'end');
  await con.shutdown();
  await ended;
  t.equal(out.text(), 'first and last', 'every byte, then end');
  await con.close();
});

/** What test/fixtures/shutdown-no-listener.ts prints; each scenario fills its own fields. */
interface ScenarioResult {
  write: { size: number; outcome: string; bytesNotWritten: number };
  writes: { size: number; outcome: string; bytesNotWritten: number }[];
  callbackBeforeSettle: string;
  outcomesAtSettle: string[];
  result: { bytesNotWritten: number };
  resized: object;
  openAfterShutdown: boolean;
  destroyedAfterShutdown: boolean;
  openAfterClose: boolean;
  delivered: number;
  buffered: number;
  finished: boolean;
  shutDown: boolean;
}

/** Runs a scenario of test/fixtures/shutdown-no-listener.ts in a child process; its exit code and what it printed. */
async function scenario(name: string): Promise<{ code: number | null; stderr: string; r: ScenarioResult | null }> {
  // Only the TypeScript loader of the runner's flags: none of its reporting.
  const loader = process.execArgv.filter((a) => /typescript|source-maps/.test(a));
  const child = spawn(process.execPath, [...loader, path.join(__dirname, 'fixtures', 'shutdown-no-listener.ts'), name], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  // A hung child is killed before the 120 s bound below says so; under qemu the TypeScript
  // loader alone makes a scenario take 20 s with the machine idle.
  const timer = setTimeout(() => child.kill('SIGKILL'), 110_000);
  const [code] = (await within('child: close', child, 'close', 120_000)) as [number | null];
  clearTimeout(timer);
  return { code, stderr, r: code === 0 ? JSON.parse(out) : null };
}

t.test('a pending write fails through its callback, with no listener for an error that never comes', async (t) => {
  const { code, stderr, r } = await scenario('resumed');
  t.equal(code, 0, `the process ran to the end with no 'error' listener${stderr ? `: ${stderr}` : ''}`);
  if (r === null) return;
  t.equal(r.write.outcome, 'ERR_CONSOLE_SHUTDOWN', 'the write callback got ERR_CONSOLE_SHUTDOWN');
  t.equal(r.callbackBeforeSettle, 'ERR_CONSOLE_SHUTDOWN', 'before shutdown() settled');
  t.ok(
    r.write.bytesNotWritten > 0 && r.write.bytesNotWritten < r.write.size,
    `${r.write.bytesNotWritten} of ${r.write.size} bytes not written`,
  );
  t.equal(r.result.bytesNotWritten, r.write.bytesNotWritten, 'shutdown() resolved with the same count');
  t.equal(r.delivered + r.write.bytesNotWritten, r.write.size, `${r.delivered} bytes reached the slave: delivered + not written = written`);
  t.equal(r.openAfterShutdown, true, 'the fd stays open after shutdown()');
  t.equal(r.destroyedAfterShutdown, false, 'the stream is not destroyed by shutdown()');
  t.same(r.resized, { rows: 33, cols: 99, xpixel: 0, ypixel: 0 }, 'size(), resize() and reset() work after shutdown()');
  t.equal(r.openAfterClose, false, 'close() closes the fd the console owns');
});

t.test('shutdown() settles with nobody reading, and a later destroy() emits no error', async (t) => {
  const { code, stderr, r } = await scenario('unread');
  t.equal(code, 0, `the process ran to the end with no 'error' listener${stderr ? `: ${stderr}` : ''}`);
  if (r === null) return;
  t.equal(r.callbackBeforeSettle, 'ERR_CONSOLE_SHUTDOWN', "the write's callback ran before shutdown() settled");
  t.equal(r.result.bytesNotWritten, r.write.bytesNotWritten, `shutdown() resolved with ${r.result.bytesNotWritten} bytes not written`);
  t.ok(r.buffered > 0, `the readable side held ${r.buffered} unread bytes`);
});

t.test('writes in flight and buffered each fail with their own count; they add up', async (t) => {
  const { code, stderr, r } = await scenario('buffered');
  t.equal(code, 0, `the process ran to the end with no 'error' listener${stderr ? `: ${stderr}` : ''}`);
  if (r === null) return;
  const { writes } = r;
  t.same(
    r.outcomesAtSettle,
    ['ERR_CONSOLE_SHUTDOWN', 'ERR_CONSOLE_SHUTDOWN', 'ERR_CONSOLE_SHUTDOWN'],
    'every callback ran before shutdown() settled, each with an error',
  );
  t.ok(writes[0].bytesNotWritten < writes[0].size, `the write in flight: ${writes[0].bytesNotWritten} of ${writes[0].size} not written`);
  t.same(
    writes.slice(1).map((w) => w.bytesNotWritten),
    writes.slice(1).map((w) => w.size),
    'the buffered writes: none of their bytes written, each its own count',
  );
  const notWritten = writes.reduce((n, w) => n + w.bytesNotWritten, 0);
  t.equal(r.result.bytesNotWritten, notWritten, 'shutdown() resolved with their total');
  const total = writes.reduce((n, w) => n + w.size, 0);
  t.equal(r.delivered + notWritten, total, `${r.delivered} delivered + ${notWritten} not written = ${total} written`);
  t.equal(r.finished, false, "no 'finish' after a failed write");
});

// node-pty's binary is the host's: under CI's arm64 Node (qemu) it cannot load.
function nodePtyMissing(): string | false {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('node-pty');
    return false;
  } catch (err) {
    return `node-pty does not load in this Node (${process.arch}): ${(err as Error).message.split('\n')[0]}`;
  }
}

t.test(
  'fromNodePty: input still queued when the child exits fails quietly, and the stream closes',
  { skip: nodePtyMissing() },
  async (t) => {
    const { code, stderr, r } = await scenario('nodepty');
    t.equal(code, 0, `the process ran to the end with no 'error' listener${stderr ? `: ${stderr}` : ''}`);
    if (r === null) return;
    t.equal(
      r.write.outcome,
      'ERR_CONSOLE_SHUTDOWN',
      `the queued write failed with ERR_CONSOLE_SHUTDOWN (${r.write.bytesNotWritten} bytes not written)`,
    );
    t.equal(r.shutDown, true, 'the stream was shut down at the exit, then closed');
  },
);

t.test('a write that cannot finish with an error listener: no error, the stream stays usable until close()', async (t) => {
  const kq = kqueuerFor(t);
  const { master, slave } = ptyFor(t);
  slave.setRaw({ opost: false });
  const con = kq.add(master);
  const errors: Error[] = [];
  con.on('error', (err) => errors.push(err));
  con.resume();
  let writeError: ShutdownError | null = null;
  con.write(Buffer.alloc(1 << 20, 'q'), (err) => (writeError = err as ShutdownError));
  const started = Date.now();
  // Nothing can move: a shutdown that waited for the write would never settle.
  const { bytesNotWritten } = await settles('shutdown() with a write that cannot move', con.shutdown());
  t.pass(`shutdown() settled (${Date.now() - started} ms) with nothing able to move`);
  t.equal(writeError!.code, 'ERR_CONSOLE_SHUTDOWN');
  t.equal(writeError!.bytesNotWritten, bytesNotWritten);
  // A write after shutdown that cannot go at once fails the same way.
  const late = await new Promise<Error | null | undefined>((resolve) => con.write(Buffer.alloc(1 << 16), resolve));
  t.equal((late as ShutdownError).code, 'ERR_CONSOLE_SHUTDOWN', 'a later write that would wait fails too');
  t.equal(con.destroyed, false, 'not destroyed');
  t.ok(isOpen(master.fd), 'the fd is open');
  t.doesNotThrow(() => con.reset(), 'reset() after shutdown()');
  await con.close();
  t.notOk(isOpen(master.fd), 'close() closed it');
  t.same(errors, [], "no 'error' event");
});

t.test("the Go idiom: con.shutdown(kq.closeConsole), kq's methods detached", async (t) => {
  const kq = kqueuerFor(t);
  const { master } = ptyFor(t);
  const { add, closeConsole, wait, close } = kq;
  const con = add(master);
  con.resume();
  const { shutdown, close: closeCon } = con;
  t.same(await shutdown(closeConsole), { bytesNotWritten: 0 }, 'shutdown(kq.closeConsole) resolves');
  t.throws(() => closeConsole(master.fd), { code: 'ENOENT' }, 'the console was deregistered');
  await closeCon();
  t.ok(master.isClosed, 'close() detached closed the console');
  const done = wait();
  close();
  await done;
  t.ok(kq.closed, 'close() and wait() detached');
});

t.test('shutdown() settles promptly on an idle console, and after destroy', async (t) => {
  const kq = kqueuerFor(t);
  const { master } = ptyFor(t);
  const con = kq.add(master);
  con.resume();
  await con.shutdown();
  t.ok(con.isShutdown);
  await con.close();
  const other = kq.add(openPty().master);
  other.destroy();
  await other.shutdown();
  t.pass('shutdown after destroy settles');
});

t.test('a close callback that throws or rejects: the stream still ends, shutdown() rejects with it', async (t) => {
  const kq = kqueuerFor(t);
  for (const close of [
    () => {
      throw new Error('boom');
    },
    () => Promise.reject(new Error('boom')),
  ]) {
    const { master, slave } = ptyFor(t);
    const con = kq.add(master);
    con.resume();
    const ended = within('con: end', con, 'end');
    await t.rejects(con.shutdown(close), { message: 'boom' });
    await ended;
    await con.close();
    slave.close();
  }
  t.throws(() => kq.add(openPty().master).shutdown(42 as never), { code: 'ERR_INVALID_ARG_TYPE' });
});
