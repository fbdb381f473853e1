// The KqueueConsole state machine driven deterministically by a fake fd and a
// fake registration: what real ptys cannot be made to do on demand (a short
// write of an exact size, a spurious edge, an odd errno).
import * as os from 'node:os';
import t from 'tap';
import type { Console } from '../src/tty/console';
import { kReady, type ConsoleIo, type Registration } from '../src/stream/ports';
import { KqueueConsole, type KqueueConsoleOptions } from '../src/stream/kqueue-console';
import { waitUntil, within } from './helpers/wait';

const { EAGAIN, EIO, EBADF, EINVAL } = os.constants.errno;
const bits = { READABLE: 1, WRITABLE: 2, HANGUP: 4, EXITED: 8 };

/** A fake non-blocking fd: bytes to read, room to write, what it says when out of either. */
class FakeFd implements ConsoleIo {
  readonly status = new Int32Array(2);
  readonly bits = bits;
  incoming = Buffer.alloc(0);
  whenEmpty = EAGAIN; // 0 for end of file.
  writeRoom = Infinity;
  whenFull = EAGAIN;
  written: Buffer[] = [];
  reads = 0;
  /** The noWait argument of every read. */
  noWaits: boolean[] = [];
  /** The stopSmall argument of every read. */
  stopSmalls: boolean[] = [];

  read(_fd: number, buf: Uint8Array, off: number, len: number, noWait = false, stopSmall = false): number {
    this.reads++;
    this.noWaits.push(noWait);
    this.stopSmalls.push(stopSmall);
    const n = Math.min(len, this.incoming.length);
    Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).set(this.incoming.subarray(0, n), off);
    this.incoming = this.incoming.subarray(n);
    this.status[0] = n < len ? this.whenEmpty : 0;
    return n;
  }

  write(_fd: number, buf: Uint8Array, off: number, len: number): number {
    const n = Math.min(len, this.writeRoom);
    this.written.push(Buffer.from(buf.subarray(off, off + n)));
    this.writeRoom -= n;
    this.status[0] = n < len ? this.whenFull : 0;
    return n;
  }

  writev(fd: number, chunks: readonly Uint8Array[], skip: number): number {
    const all = Buffer.concat(chunks).subarray(skip);
    return this.write(fd, all, 0, all.length);
  }

  text(): string {
    return Buffer.concat(this.written).toString();
  }
}

class FakeRegistration implements Registration {
  waiting: boolean[] = [];
  deregistered = 0;
  released: boolean[] = [];
  /** Every watchWrite() call, in order. */
  watches: boolean[] = [];
  /** The errno watchWrite() answers with. */
  watchErrno = 0;
  setWaiting(waiting: boolean): void {
    this.waiting.push(waiting);
  }
  watchWrite(on: boolean): number {
    this.watches.push(on);
    return this.watchErrno;
  }
  deregister(): void {
    this.deregistered++;
  }
  release(fdStillOpen: boolean): void {
    this.released.push(fdStillOpen);
  }
  get isWaiting(): boolean {
    return this.waiting[this.waiting.length - 1] ?? false;
  }
}

function make(
  options: KqueueConsoleOptions = {},
  tty: boolean | 'pty master' = false,
): { fd: FakeFd; reg: FakeRegistration; con: KqueueConsole } {
  const fd = new FakeFd();
  const reg = new FakeRegistration();
  // Only whether there is a Console, and whether it is a pty master, matter to the stream's reads.
  const console = tty ? ({ ptyMaster: tty === 'pty master' } as unknown as Console) : null;
  const con = KqueueConsole.create({ fd: 99, io: fd, registration: reg, console, autoClose: false, options });
  return { fd, reg, con };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

t.test('reads until EAGAIN, then waits for an edge; a spurious edge costs one read', async (t) => {
  const { fd, reg, con } = make();
  const got: string[] = [];
  con.on('data', (b: Buffer) => got.push(b.toString()));
  fd.incoming = Buffer.from('hello');
  await tick();
  t.same(got, ['hello']);
  t.ok(reg.isWaiting, 'waiting for a READ edge after EAGAIN');
  const reads = fd.reads;
  con[kReady](bits.READABLE); // Spurious: nothing new.
  t.equal(fd.reads, reads + 1, 'one read, which says EAGAIN');
  t.ok(reg.isWaiting, 'and waits again');
  fd.incoming = Buffer.from(' world');
  con[kReady](bits.READABLE);
  t.same(got, ['hello', ' world']);
  con.destroy();
});

t.test('EIO and a hang-up are "wait for the next edge", not an end or an error', async (t) => {
  const { fd, reg, con } = make();
  let ended = false;
  con.on('end', () => (ended = true));
  con.on('error', () => t.fail('no error'));
  const got: string[] = [];
  con.on('data', (b: Buffer) => got.push(b.toString()));
  fd.incoming = Buffer.from('tail');
  fd.whenEmpty = EIO;
  await tick();
  con[kReady](bits.HANGUP);
  await tick();
  t.same(got, ['tail']);
  t.notOk(ended);
  t.ok(reg.isWaiting, 'still waiting');
  fd.whenEmpty = EAGAIN;
  fd.incoming = Buffer.from('again');
  con[kReady](bits.READABLE);
  t.same(got, ['tail', 'again']);
  con.destroy();
});

t.test('reading stopped by backpressure goes on at the next _read() without an edge', async (t) => {
  const { fd, reg, con } = make({ readableHighWaterMark: 16, readBufferSize: 4096 });
  fd.incoming = Buffer.alloc(10_000, 'b');
  con.read(0); // Starts reading: one full 4 KiB buffer, over the high-water mark.
  await tick();
  t.equal(con.readableLength, 4096, 'one buffer read, then stop');
  t.notOk(reg.isWaiting, 'not waiting for an edge: the fd did not say EAGAIN');
  let total = 0;
  con.on('data', (b: Buffer) => (total += b.length));
  for (let i = 0; i < 10 && total < 10_000; i++) await tick();
  t.equal(total, 10_000, 'every byte, with no edge delivered');
  con.destroy();
});

t.test('a short write waits for a WRITE edge and goes on where it stopped', async (t) => {
  const { fd, reg, con } = make();
  fd.writeRoom = 10;
  let done = false;
  con.write(Buffer.from('0123456789abcdefghijklmno'), () => (done = true));
  t.equal(fd.text(), '0123456789', 'the first 10 bytes');
  t.notOk(done, 'the callback waits');
  t.ok(reg.isWaiting, 'waiting for a WRITE edge');
  con[kReady](bits.WRITABLE); // Spurious: still no room.
  t.notOk(done);
  fd.writeRoom = Infinity;
  con[kReady](bits.WRITABLE);
  t.equal(fd.text(), '0123456789abcdefghijklmno', 'the rest, in order');
  await tick();
  t.ok(done, 'the callback fires once every byte is in the kernel');
  t.notOk(reg.isWaiting);

  fd.written = [];
  fd.writeRoom = 3;
  con.cork();
  con.write('ab');
  con.write('cd');
  con.write('ef');
  con.uncork();
  t.equal(fd.text(), 'abc', 'writev of three chunks stops at 3 bytes');
  fd.writeRoom = Infinity;
  con[kReady](bits.HANGUP); // A hang-up counts as writable too.
  t.equal(fd.text(), 'abcdef', 'and goes on from inside the second chunk');
  con.destroy();
});

t.test('other errnos are errors with code, errno and syscall', async (t) => {
  const { fd, con } = make();
  fd.whenEmpty = EINVAL;
  con.resume();
  const err = await new Promise<NodeJS.ErrnoException>((resolve) => con.once('error', resolve));
  t.match(err, { code: 'EINVAL', errno: -EINVAL, syscall: 'read', message: 'read EINVAL' });

  const w = make();
  w.fd.writeRoom = 0;
  w.fd.whenFull = EBADF;
  w.con.on('error', () => {});
  const werr = await new Promise<NodeJS.ErrnoException | null | undefined>((resolve) => w.con.write('x', resolve));
  t.match(werr, { code: 'EBADF', syscall: 'write' });
});

t.test('end of file ends the readable side; the writable side stays', async (t) => {
  const { fd, con } = make();
  fd.incoming = Buffer.from('last');
  fd.whenEmpty = 0;
  const got: string[] = [];
  con.on('data', (b: Buffer) => got.push(b.toString()));
  await within("the console's 'end'", con, 'end');
  t.same(got, ['last']);
  t.ok(con.writable, 'still writable (half-open)');
  con.destroy();
});

t.test('shutdown: close once, drain past backpressure, end; events after it are ignored', async (t) => {
  const { fd, reg, con } = make({ readableHighWaterMark: 16, readBufferSize: 4096 });
  fd.incoming = Buffer.alloc(20_000, 's');
  const p = con.shutdown();
  t.equal(reg.deregistered, 1, 'the default close deregistered');
  await p;
  t.equal(fd.incoming.length, 0, 'everything the fd held was read, past the high-water mark');
  let total = 0;
  con.on('data', (b: Buffer) => (total += b.length));
  await within("the console's 'end'", con, 'end');
  t.equal(total, 20_000);
  const reads = fd.reads;
  con[kReady](bits.READABLE | bits.WRITABLE);
  t.equal(fd.reads, reads, 'no read after shutdown');
  await con.close();
  t.same(reg.released, [true], 'released once, fd left open (autoClose false)');
});

t.test('WRITE edges are watched only while a write waits for room', async (t) => {
  const { fd, reg, con } = make();
  con.write('fits');
  await tick();
  t.same(reg.watches, [], 'a write that fits never watches WRITE');
  fd.writeRoom = 2;
  let done = false;
  con.write('abcdef', () => (done = true));
  await tick();
  t.same(reg.watches, [true], 'a write that waits for room watches WRITE');
  t.ok(reg.isWaiting);
  fd.writeRoom = Infinity;
  con[kReady](bits.WRITABLE);
  await tick();
  t.ok(done, 'the edge finished the write');
  t.equal(fd.text(), 'fitsabcdef');
  t.same(reg.watches, [true], 'still watched: more writes may wait soon');
  con[kReady](bits.WRITABLE);
  t.same(reg.watches, [true, false], 'an edge with no write waiting stops the watch');
  con[kReady](bits.HANGUP);
  t.same(reg.watches, [true, false], 'a hang-up alone does not touch it');
  con.destroy();
});

t.test('a write that cannot watch for room fails with the errno', async (t) => {
  const { fd, reg, con } = make();
  fd.writeRoom = 0;
  reg.watchErrno = EBADF;
  const err = await new Promise<NodeJS.ErrnoException | null | undefined>((resolve) => {
    con.on('error', () => {});
    con.write('x', resolve);
  });
  t.equal(err?.code, 'EBADF');
  t.equal(err?.syscall, 'kevent');
  t.ok(con.destroyed, 'the stream is destroyed, as for any write error');
});

t.test('a fd that never runs dry cannot keep the event loop from its other work', async (t) => {
  const { fd, con } = make();
  const total = 4 * 1024 * 1024;
  fd.incoming = Buffer.alloc(total, 'z');
  let got = 0;
  let atImmediate = -1;
  setImmediate(() => (atImmediate = got));
  con.on('data', (b: Buffer) => (got += b.length)); // Flowing: reading starts on the next tick.
  await new Promise((r) => setImmediate(r));
  t.ok(
    atImmediate > 0 && atImmediate <= 256 * 1024 + 64 * 1024,
    `an immediate queued before the flood ran after ${atImmediate} of ${total} bytes (a budget of 256 KiB per turn)`,
  );
  await waitUntil(`reading to go on by itself to byte ${total}`, () => got >= total);
  t.equal(got, total, 'and reading went on by itself, with no further edge, to the last byte');
  con.destroy();
});

t.test("a tty's reads skip the kernel's wait only for events that came with others, and never for a hang-up or at shutdown", async (t) => {
  const { fd, con } = make({}, true);
  con.on('data', () => {});
  const feed = async (what: number, crowded: boolean): Promise<boolean[]> => {
    fd.noWaits = [];
    fd.incoming = Buffer.from('x');
    con[kReady](what, crowded);
    await tick();
    return fd.noWaits;
  };
  await tick(); // The first _read() and its EAGAIN.
  t.same(await feed(bits.READABLE, true), [true], 'readable, with other consoles: noWait');
  t.same(await feed(bits.READABLE, false), [false], 'readable, alone: the plain read');
  t.same(await feed(bits.READABLE | bits.HANGUP, true), [false], 'a hang-up, even with others: the plain read, on to the EIO');
  fd.noWaits = [];
  fd.incoming = Buffer.from('y');
  const shut = con.shutdown();
  await shut;
  t.ok(fd.noWaits.length > 0, "shutdown's read-out read");
  t.notOk(fd.noWaits.includes(true), 'and in plain reads only');

  const pipe = make({}, false);
  pipe.con.on('data', () => {});
  await tick();
  pipe.fd.noWaits = [];
  pipe.fd.incoming = Buffer.from('z');
  pipe.con[kReady](bits.READABLE, true);
  t.same(pipe.fd.noWaits, [false], 'not a tty: the plain read (only ttys wait for a kernel worker)');
  await pipe.con.shutdown();
});

t.test("a pty master's reads may stop after a small one; not while a hang-up waits for its EIO, nor at shutdown", async (t) => {
  const { fd, con } = make({}, 'pty master');
  // A hang-up edge before anyone reads: nothing is read yet.
  fd.incoming = Buffer.from('tail');
  fd.whenEmpty = EIO;
  con[kReady](bits.READABLE | bits.HANGUP);
  t.same(fd.stopSmalls, [], 'nobody reads yet: no read');
  con.on('data', () => {});
  await tick();
  t.same(fd.stopSmalls, [false], 'the first read after the hang-up goes on to the EIO');
  fd.whenEmpty = EAGAIN;
  const feed = async (what: number): Promise<boolean[]> => {
    fd.stopSmalls = [];
    fd.incoming = Buffer.from('x');
    con[kReady](what);
    await tick();
    return fd.stopSmalls;
  };
  t.same(await feed(bits.READABLE), [true], 'after the EIO, a readable edge: may stop after a small read');
  t.same(await feed(bits.READABLE | bits.HANGUP), [false], 'a hang-up edge: reads on');
  t.same(await feed(bits.READABLE), [true], 'which said EAGAIN (the slave is back): small reads stop again');
  fd.stopSmalls = [];
  fd.incoming = Buffer.from('y');
  await con.shutdown();
  t.ok(fd.stopSmalls.length > 0 && !fd.stopSmalls.includes(true), "shutdown's read-out: plain reads only");

  for (const [what, tty] of [
    ['a tty that is not a pty master', true],
    ['a pipe', false],
  ] as const) {
    const other = make({}, tty);
    other.con.on('data', () => {});
    other.fd.incoming = Buffer.from('z');
    await tick();
    t.same(other.fd.stopSmalls, [false], `${what}: reads go on to EAGAIN (a canonical tty hands out a line per read)`);
    await other.con.shutdown();
  }
});
