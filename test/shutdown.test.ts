// shutdown(close): the four steps of DESIGN.md on real ptys.
import { once } from 'node:events';
import * as fs from 'node:fs';
import t from 'tap';
import { Kqueuer, openPty, type ShutdownError } from '../src/index';
import { collect, dataUntil, eventually } from './helpers/pty';

t.test('the close callback runs exactly once, with the fd, before end; a second call returns the same promise', async (t) => {
  const kq = new Kqueuer();
  const { master, slave } = openPty();
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
  await first;
  await once(con, 'end');
  t.same(calls, [master.fd], 'called once, with the fd');
  t.same(order, ['close', 'end'], "before 'end'");
  t.throws(() => kq.closeConsole(master.fd), { code: 'ENOENT' }, 'the default close (closeConsole) already deregistered it');
  await con.close();
  slave.close();
  kq.close();
});

t.test('a pending read drains what the fd holds, then ends', async (t) => {
  const kq = new Kqueuer();
  const { master, slave } = openPty();
  slave.setRaw();
  const con = kq.add(master);
  const out = collect(con);
  fs.writeSync(slave.fd, 'first');
  await dataUntil(con, () => out.text() === 'first');
  // The reader now waits for an edge. Write more and hang up, then shut
  // down before the edge is handled: shutdown must read it itself.
  fs.writeSync(slave.fd, ' and last');
  slave.close();
  const ended = once(con, 'end');
  await con.shutdown();
  await ended;
  t.equal(out.text(), 'first and last', 'every byte, then end');
  await con.close();
  kq.close();
});

t.test('a write that cannot finish fails with ERR_CONSOLE_SHUTDOWN and its unwritten count', async (t) => {
  const kq = new Kqueuer();
  const { master, slave } = openPty();
  slave.setRaw();
  // The write error destroys the stream; keep the master open (autoClose
  // false) so that the slave can still read what did reach the kernel.
  const con = kq.add(master, { autoClose: false });
  con.resume();
  const size = 1024 * 1024;
  let writeError: ShutdownError | null = null;
  con.write(Buffer.alloc(size, 'q'), (err) => (writeError = (err as ShutdownError) ?? null));
  const streamError = once(con, 'error');
  const started = Date.now();
  await con.shutdown();
  t.ok(Date.now() - started < 1000, `shutdown() settled promptly (${Date.now() - started} ms) with nothing able to move`);
  const [err] = (await streamError) as [ShutdownError];
  t.equal(writeError, err, 'the write callback got the error the stream emitted');
  t.equal(err.code, 'ERR_CONSOLE_SHUTDOWN');
  t.ok(err.bytesNotWritten > 0 && err.bytesNotWritten < size, `${err.bytesNotWritten} bytes not written`);

  // What did reach the kernel arrives on the slave's side: together, every
  // byte. (The pty moves it to the slave in steps, so read it as a stream.)
  const reader = kq.add(slave);
  const delivered = collect(reader);
  const complete = await eventually(() => delivered.bytes() + err.bytesNotWritten >= size, 5000);
  t.ok(complete, `${delivered.bytes()} bytes delivered`);
  t.equal(delivered.bytes() + err.bytesNotWritten, size, 'bytes delivered + bytes not written = bytes written');
  await reader.shutdown();
  await reader.close();
  t.ok(con.destroyed, 'the failed write destroyed the stream');
  master.close();
  kq.close();
});

t.test('shutdown() settles promptly on an idle console, and after destroy', async (t) => {
  const kq = new Kqueuer();
  const { master, slave } = openPty();
  const con = kq.add(master);
  con.resume();
  await con.shutdown();
  t.ok(con.isShutdown);
  await con.close();
  const other = kq.add(openPty().master);
  other.destroy();
  await other.shutdown();
  t.pass('shutdown after destroy settles');
  slave.close();
  kq.close();
});

t.test('a close callback that throws or rejects: the stream still ends, shutdown() rejects with it', async (t) => {
  const kq = new Kqueuer();
  for (const close of [
    () => {
      throw new Error('boom');
    },
    () => Promise.reject(new Error('boom')),
  ]) {
    const { master, slave } = openPty();
    const con = kq.add(master);
    con.resume();
    const ended = once(con, 'end');
    await t.rejects(con.shutdown(close), { message: 'boom' });
    await ended;
    await con.close();
    slave.close();
  }
  t.throws(() => kq.add(openPty().master).shutdown(42 as never), { code: 'ERR_INVALID_ARG_TYPE' });
  kq.close();
});
