// Misuse gets a stable code; no fd leaks; no fd the library does not own is closed.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { Console } from '../src/index';
import { fdsBackTo, isOpen, openFdCount, openFifo } from './helpers/fds';
import { kqueuerFor, ptyFor, within } from './helpers/fixtures';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kqc-misuse-'));
t.teardown(() => fs.rmSync(dir, { recursive: true }));

const openPipe = (): number => openFifo(dir);

t.test('Kqueuer.add refuses bad input with a stable code', async (t) => {
  const baseline = openFdCount();
  const kq = kqueuerFor(t);
  const file = fs.openSync(path.join(dir, 'regular'), 'w+');
  const { master, slave } = ptyFor(t);
  // Closed last, so that nothing opened since reuses its number.
  const closedFd = fs.openSync('/dev/null', 'r');
  fs.closeSync(closedFd);

  t.throws(() => kq.add('3' as never), { code: 'ERR_INVALID_ARG_TYPE' }, 'a non-number fd');
  t.throws(() => kq.add(null as never), { code: 'ERR_INVALID_ARG_TYPE' }, 'null');
  t.throws(() => kq.add(-1), { code: 'ERR_OUT_OF_RANGE' }, 'a negative fd');
  t.throws(() => kq.add(1.5), { code: 'ERR_OUT_OF_RANGE' }, 'a fractional fd');
  t.throws(() => kq.add(2 ** 31), { code: 'ERR_OUT_OF_RANGE' }, 'an fd past the range');
  t.throws(() => kq.add(closedFd), { code: 'EBADF', syscall: 'fstat' }, 'a closed fd');
  t.throws(() => kq.add(file), { code: 'ERR_NOT_POLLABLE' }, 'a regular file');
  t.ok(isOpen(file), 'the regular file is still open: it is not ours to close');
  const dirFd = fs.openSync(dir, 'r');
  t.throws(() => kq.add(dirFd), { code: 'ERR_NOT_POLLABLE' }, 'a directory');
  t.throws(() => kq.add(master, { autoClose: 'yes' } as never), { code: 'ERR_INVALID_ARG_TYPE' }, 'bad options');
  t.throws(() => kq.add(master, { readBufferSize: 10 }), { code: 'ERR_OUT_OF_RANGE' }, 'a tiny read buffer');
  const callback = (): void => {};
  t.throws(() => kq.add(master, { onread: 'x' as never }), { code: 'ERR_INVALID_ARG_TYPE' }, 'onread not an object');
  t.throws(
    () => kq.add(master, { onread: { buffer: [1, 2] as never, callback } }),
    { code: 'ERR_INVALID_ARG_TYPE' },
    'onread.buffer an array',
  );
  t.throws(
    () => kq.add(master, { onread: { buffer: Buffer.alloc(0), callback } }),
    { code: 'ERR_INVALID_ARG_VALUE' },
    'onread.buffer empty',
  );
  t.throws(
    () => kq.add(master, { onread: { buffer: Buffer.alloc(8) } as never }),
    { code: 'ERR_INVALID_ARG_TYPE' },
    'onread without a callback',
  );
  t.throws(
    () => kq.add(master, { onread: { buffer: Buffer.alloc(8), callback }, readBufferSize: 8192 }),
    { code: 'ERR_INCOMPATIBLE_OPTION_PAIR' },
    'onread with readBufferSize',
  );

  const con = kq.add(master);
  t.throws(() => kq.add(master), { code: 'EEXIST' }, 'the same console twice');
  t.throws(() => kq.add(master.fd), { code: 'EEXIST' }, 'the same fd twice');
  t.throws(() => kq.closeConsole(slave.fd), { code: 'ENOENT' }, 'closeConsole of an fd never added');
  fs.writeSync(slave.fd, 'still works\n');
  const [chunk] = (await within("the console's first 'data'", con, 'data')) as [Buffer];
  t.match(chunk.toString(), /still works/, 'the first console still works after the refusals');

  await con.shutdown();
  await con.close();
  kq.close();
  kq.close();
  t.throws(() => kq.add(slave), { code: 'ERR_KQUEUER_CLOSED' }, 'add after close');
  t.ok(isOpen(slave.fd), 'a refused add left the fd open');
  slave.close();
  const other = kqueuerFor(t);
  t.throws(() => other.add(slave), { code: 'ERR_CONSOLE_CLOSED' }, 'a closed Console');
  other.close();
  fs.closeSync(file);
  fs.closeSync(dirFd);
  fdsBackTo(t, baseline, 'open fds are back to the baseline exactly');
});

t.test('plain fds: pipes work, console operations fail with ENOTTY, the fd is given back as it was', async (t) => {
  const kq = kqueuerFor(t);
  const pipe = openPipe();
  fs.writeSync(pipe, 'through a fifo');
  const con = kq.add(pipe);
  t.equal(con.name, '', 'a pipe has no terminal name');
  t.throws(() => con.size(), { code: 'ENOTTY' }, 'size()');
  t.throws(() => con.resize({ rows: 1, cols: 1 }), { code: 'ENOTTY' }, 'resize()');
  t.throws(() => con.setRaw(), { code: 'ENOTTY' }, 'setRaw()');
  const [chunk] = (await within("the console's first 'data'", con, 'data')) as [Buffer];
  t.equal(chunk.toString(), 'through a fifo');
  t.throws(() => Console.fromFd(pipe), { code: 'ENOTTY' }, 'Console.fromFd on a pipe');
  await con.shutdown();
  await con.close();
  t.ok(isOpen(pipe), 'an fd number is not closed by default: the caller owns it');

  // An fd that was blocking is blocking again once the library lets go.
  const { slave } = ptyFor(t);
  const blocking = fs.openSync(`/proc/self/fd/${slave.fd}`, fs.constants.O_RDWR | fs.constants.O_NOCTTY);
  const flags = (): number => parseInt(/flags:\s+(\d+)/.exec(fs.readFileSync(`/proc/self/fdinfo/${blocking}`, 'utf8'))![1], 8);
  t.equal(flags() & fs.constants.O_NONBLOCK, 0, 'blocking before add');
  const c2 = kq.add(blocking);
  t.equal(flags() & fs.constants.O_NONBLOCK, fs.constants.O_NONBLOCK, 'non-blocking while added');
  await c2.close();
  t.equal(flags() & fs.constants.O_NONBLOCK, 0, 'blocking again after');
  fs.closeSync(blocking);
  fs.closeSync(pipe);
});

t.test('Console misuse', async (t) => {
  t.throws(() => Console.fromFd(-3), { code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => Console.fromFd('0' as never), { code: 'ERR_INVALID_ARG_TYPE' });
  const { master, slave } = ptyFor(t);
  t.throws(() => master.resize({ rows: -1, cols: 80 }), { code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => master.resize({ rows: 70000, cols: 80 }), { code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => master.resize(null as never), { code: 'ERR_INVALID_ARG_TYPE' });
  const borrowed = Console.fromFd(slave.fd);
  borrowed.close();
  t.ok(isOpen(slave.fd), 'closing a Console that does not own its fd leaves the fd open');
  master.close();
  master.close();
  t.throws(() => master.size(), { code: 'ERR_CONSOLE_CLOSED' }, 'operations after close');
});
