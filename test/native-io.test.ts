// The native fd I/O and tty operations on real ptys.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import t from 'tap';
import { binding } from '../src/addon/binding';
import { deadline, within } from './helpers/fixtures';

const native = binding();
const { EAGAIN, EIO, EBADF, ENOTTY } = os.constants.errno;

function openRawPty(): { master: number; slave: number; path: string } {
  const pty = native.openPty();
  if (!pty) throw new Error(`openPty failed: errno ${native.status[0]}`);
  const [master, slave, path] = pty;
  native.tcsetattr(slave, native.makeRaw(native.tcgetattr(slave)!, false));
  native.setNonBlocking(master, true);
  return { master, slave, path };
}

/** Runs `node -e code` with its stdout on `fd` and waits for it to exit. */
function childWrites(fd: number, code: string): Promise<number | null> {
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', fd, 'inherit'] });
  return within('child: exit', child, 'exit', 120_000).then(([status]) => status as number | null);
}

async function readAll(master: number, buf: Buffer, want: number): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  let got = 0;
  const bound = deadline(`reading ${want} bytes`);
  while (got < want) {
    bound.check();
    const n = native.read(master, buf, 0, buf.length);
    if (n > 0) chunks.push(Buffer.from(buf.subarray(0, n)));
    got += n;
    if (n < buf.length && native.status[0] !== EAGAIN) break;
    if (n === 0) await new Promise((r) => setImmediate(r));
  }
  return chunks;
}

t.test('read loops until the buffer is full or the fd says EAGAIN, then EIO', async (t) => {
  const { master, slave } = openRawPty();
  const buf = Buffer.alloc(64 * 1024);
  t.equal(native.read(master, buf, 0, buf.length), 0, 'nothing to read yet');
  t.equal(native.status[0], EAGAIN, 'EAGAIN');

  // A child writes more than one pty read(2) hands out (at most ~4 KiB).
  const payload = Buffer.alloc(200_000, 'abcdefghij');
  const exited = childWrites(slave, `process.stdout.write(Buffer.alloc(${payload.length}, 'abcdefghij'))`);
  const chunks = await readAll(master, buf, payload.length);
  t.equal(await exited, 0, 'the child exited');
  t.ok(Buffer.concat(chunks).equals(payload), 'all 200,000 bytes, in order');
  t.ok(
    chunks.some((c) => c.length > 4096),
    `one call returned more than one read(2) can (largest ${Math.max(...chunks.map((c) => c.length))})`,
  );

  const small = Buffer.alloc(4);
  fs.writeSync(slave, 'abcdefgh');
  let n = 0;
  const firstRead = deadline('a read of the 8 bytes written');
  while ((n = native.read(master, small, 0, 4)) === 0) {
    firstRead.check();
    await new Promise((r) => setImmediate(r));
  }
  t.equal(n, 4, 'a full buffer stops the loop');
  t.equal(native.status[0], 0, 'with no errno');
  t.equal(native.read(master, small, 0, 4), 4, 'the rest is still there');

  await childWrites(slave, `process.stdout.write('tail')`);
  native.closeOwned(slave);
  n = native.read(master, buf, 0, buf.length);
  t.equal(buf.subarray(0, n).toString(), 'tail', 'bytes written before the last slave fd closed are read');
  t.equal(native.status[0], EIO, 'then the master says EIO');
  native.closeOwned(master);
});

// noWait: stop when FIONREAD says nothing is queued; stopSmall: stop after a
// read of under 1 KiB. Either way every byte comes, and a stop says EAGAIN.
for (const mode of ['noWait', 'stopSmall'] as const) {
  const flags = mode === 'noWait' ? ([true, false] as const) : ([false, true] as const);
  t.test(`read with ${mode} stops at what the tty has queued`, async (t) => {
    const { master, slave } = openRawPty();
    const buf = Buffer.alloc(64 * 1024);
    // Every byte of a steady writer, read only in such calls.
    const payload = Buffer.alloc(200_000, 'klmnopqrst');
    const exited = childWrites(slave, `process.stdout.write(Buffer.alloc(${payload.length}, 'klmnopqrst'))`);
    const chunks: Buffer[] = [];
    let got = 0;
    const otherStatus: number[] = [];
    const bound = deadline(`reading the ${payload.length} bytes in ${mode} reads`);
    while (got < payload.length) {
      bound.check();
      const n = native.read(master, buf, 0, buf.length, ...flags);
      if (native.status[0] !== (n === buf.length ? 0 : EAGAIN)) otherStatus.push(native.status[0]);
      if (n > 0) chunks.push(Buffer.from(buf.subarray(0, n)));
      got += n;
      if (n < buf.length) await new Promise((r) => setImmediate(r));
    }
    t.equal(await exited, 0, 'the child exited');
    t.same(otherStatus, [], `every short ${mode} read said EAGAIN`);
    t.ok(Buffer.concat(chunks).equals(payload), 'all 200,000 bytes, in order');

    // With the other side gone, a plain read goes on to the EIO (the test
    // above); these stop at the queued bytes and leave the EIO for later.
    await childWrites(slave, `process.stdout.write('tail')`);
    native.closeOwned(slave);
    let n = 0;
    const tail = deadline('a read of the tail');
    while ((n = native.read(master, buf, 0, buf.length, ...flags)) === 0 && native.status[0] === EAGAIN) {
      tail.check();
      await new Promise((r) => setImmediate(r));
    }
    t.equal(buf.subarray(0, n).toString(), 'tail', 'the bytes written before the slave closed');
    t.equal(native.status[0], EAGAIN, 'then EAGAIN, where a plain read goes on to the EIO');
    t.equal(native.read(master, buf, 0, buf.length), 0, 'a plain read then finds nothing');
    t.equal(native.status[0], EIO, 'and says EIO');
    native.closeOwned(master);
  });
}

t.test(
  "read's flags are booleans, read and never coerced (coercion can call into JavaScript, refused while a Worker is terminated)",
  async (t) => {
    const { master, slave } = openRawPty();
    const buf = Buffer.alloc(16);
    t.throws(() => native.read(master, buf, 0, 16, 'yes' as never), { code: 'ERR_INVALID_ARG_TYPE' }, 'noWait');
    t.throws(() => native.read(master, buf, 0, 16, false, 1 as never), { code: 'ERR_INVALID_ARG_TYPE' }, 'stopSmall');
    t.throws(() => native.setNonBlocking(master, 'on' as never), { code: 'ERR_INVALID_ARG_TYPE' }, "setNonBlocking's flag");
    t.equal(native.read(master, buf, 0, 16, undefined, undefined), 0, 'undefined is false');
    t.equal(native.status[0], EAGAIN, 'and the read ran');
    native.closeOwned(slave);
    native.closeOwned(master);
  },
);

t.test('write and writev go on from where a short write stopped', async (t) => {
  const { master, slave, path } = openRawPty();
  native.setNonBlocking(slave, true);
  const msg = Buffer.from('hello, world');
  t.equal(native.write(master, msg, 7, 5), 5, 'write of a slice');
  t.equal(native.writev(master, [Buffer.from('abc'), Buffer.from('def'), Buffer.from('ghi')], 4), 5, 'writev after skipping 4 bytes');
  const buf = Buffer.alloc(64);
  let got = '';
  const bound = deadline('reading the 10 bytes written');
  while (got.length < 10) {
    bound.check();
    const n = native.read(slave, buf, 0, 64);
    got += buf.subarray(0, n).toString();
    if (n === 0) await new Promise((r) => setImmediate(r));
  }
  t.equal(got, 'worldefghi');

  // Nobody reads the slave: the master's buffer fills and write stops short.
  const big = Buffer.alloc(1 << 20, 'x');
  const written = native.write(master, big, 0, big.length);
  t.ok(written > 0 && written < big.length, `a short write (${written} of ${big.length})`);
  t.equal(native.status[0], EAGAIN, 'stopped on EAGAIN');
  t.equal(path, native.ptsname(master), 'ptsname names the slave');
  native.closeOwned(slave);
  native.closeOwned(master);
});

t.test('errors come back as errno and syscall, never as a throw', async (t) => {
  const { master, slave } = openRawPty();
  native.closeOwned(slave);
  native.closeOwned(master);
  const buf = Buffer.alloc(8);
  t.equal(native.read(master, buf, 0, 8), 0);
  t.same([native.status[0], native.syscalls[native.status[1]]], [EBADF, 'read']);
  t.equal(native.write(master, buf, 0, 8), 0);
  t.same([native.status[0], native.syscalls[native.status[1]]], [EBADF, 'write']);
  t.equal(native.getWinsize(master), null);
  t.same([native.status[0], native.syscalls[native.status[1]]], [EBADF, 'ioctl']);
  t.equal(native.setNonBlocking(master, true), -1);
  t.same([native.status[0], native.syscalls[native.status[1]]], [EBADF, 'fcntl']);
  const devnull = fs.openSync('/dev/null', 'r');
  t.equal(native.tcgetattr(devnull), null, 'tcgetattr of /dev/null');
  t.same([native.status[0], native.syscalls[native.status[1]]], [ENOTTY, 'tcgetattr']);
  t.equal(native.ttyname(devnull), null);
  t.equal(native.status[0], ENOTTY);
  t.equal(native.isatty(devnull), false);
  fs.closeSync(devnull);
  t.throws(() => native.read(-1, buf, 0, 8), { code: 'ERR_INVALID_ARG_TYPE' }, 'a negative fd is refused before any syscall');
  t.throws(() => native.read(0, buf, 4, 8), { code: 'ERR_OUT_OF_RANGE' }, 'a range past the buffer is refused');
  t.throws(() => native.read(0, buf, 1e300, 1e300), { code: 'ERR_OUT_OF_RANGE' }, 'an offset and a length too big to add are refused');
  // Each argument is checked by the one Node-API getter of its type: a value
  // of another type is refused before any syscall (fd 0 is never read).
  const untyped = native as unknown as Record<string, (...args: unknown[]) => unknown>;
  t.throws(() => untyped.read('0', buf, 0, 8), { code: 'ERR_INVALID_ARG_TYPE' }, 'an fd that is not a number');
  t.throws(() => untyped.read(0, buf, '0', 8), { code: 'ERR_INVALID_ARG_TYPE' }, 'an offset that is not a number');
  t.throws(() => untyped.read(0, new Uint16Array(4), 0, 8), { code: 'ERR_INVALID_ARG_TYPE' }, 'a typed array of another kind');
  t.throws(() => untyped.read(0, new DataView(new ArrayBuffer(8)), 0, 8), { code: 'ERR_INVALID_ARG_TYPE' }, 'a DataView');
  t.throws(() => untyped.read(0, [1, 2], 0, 2), { code: 'ERR_INVALID_ARG_TYPE' }, 'an array');
  t.throws(() => untyped.read(0, buf, 0, 8, 1), { code: 'ERR_INVALID_ARG_TYPE' }, 'a flag that is not a boolean');
  t.throws(() => untyped.read(0, buf, 0, 8, false, null), { code: 'ERR_INVALID_ARG_TYPE' }, 'a flag that is null');
  t.throws(() => untyped.writev(0, [buf, 'x'], 0), { code: 'ERR_INVALID_ARG_TYPE' }, 'writev: a chunk that is not a Uint8Array');
  t.throws(() => native.tcsetattr(0, Buffer.alloc(3)), { code: 'ERR_INVALID_ARG_TYPE' }, 'a short termios is refused');
});

t.test('tty operations: openPty, winsize, termios, isatty, ttyname', async (t) => {
  const pty = native.openPty()!;
  const [master, slave, path] = pty;
  t.match(path, /^\/dev\/pts\/\d+$/, 'the slave path');
  t.equal(native.ttyname(slave), path, 'ttyname of the slave');
  t.ok(native.isatty(slave) && native.isatty(master), 'both ends are ttys');
  t.equal(fs.readlinkSync(`/proc/self/fd/${master}`), '/dev/ptmx', 'the master is /dev/ptmx');
  const fdinfo = fs.readFileSync(`/proc/self/fdinfo/${master}`, 'utf8');
  const fl = parseInt(/flags:\s+(\d+)/.exec(fdinfo)![1], 8);
  t.ok((fl & 0o2000000) !== 0, `the master is O_CLOEXEC (flags ${fl.toString(8)})`);
  t.equal(fl & 3, fs.constants.O_RDWR, `the master is O_RDWR (flags ${fl.toString(8)})`);

  t.equal(native.setWinsize(master, 33, 101, 0, 0), 0);
  t.same(native.getWinsize(slave), [33, 101, 0, 0], "the size set on the master is the slave's");

  const saved = native.tcgetattr(slave)!;
  const raw = native.makeRaw(saved, false);
  t.notSame(raw, saved, 'cfmakeraw changes the termios');
  t.equal(native.tcsetattr(slave, raw), 0);
  t.same(native.tcgetattr(slave), raw, 'raw mode applied');
  t.equal(native.tcsetattr(slave, saved), 0);
  t.same(native.tcgetattr(slave), saved, 'restored byte for byte');
  const noEcho = native.withoutEcho(saved);
  t.equal(native.tcsetattr(slave, noEcho), 0);
  t.same(native.tcgetattr(slave), noEcho, 'echo off applied');
  native.closeOwned(slave);
  native.closeOwned(master);
});
