// Every public entry point with wrong types, out-of-range numbers, closed fds,
// fds of the wrong kind, double calls and calls after close: each gets its
// stable code, nothing crashes, no fd leaks, and no fd the caller owns is
// closed. Then a seeded fuzz of random operation sequences checks the same.
import { spawnSync } from 'node:child_process';
import { PassThrough } from 'node:stream';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { Harness } from '../../src/harness';
import { Console, Kqueuer, current, fromNodePty, openPty, type KqueueConsole } from '../../src/index';
import { fdsBackTo, isOpen, openFdCount, openFds } from '../helpers/fds';
import { scaled, rng, seed } from '../helpers/scale';
import { within } from '../helpers/wait';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kqc-bad-input-'));
t.teardown(() => fs.rmSync(dir, { recursive: true }));

/** The fds a caller owns: each of a kind the library must refuse or treat with care. */
async function callerFds(): Promise<{ fds: Record<string, number>; close: () => void }> {
  const file = fs.openSync(path.join(dir, 'file'), 'w+');
  const directory = fs.openSync(dir, 'r');
  const devnull = fs.openSync('/dev/null', 'r+');
  const fifo = path.join(dir, `fifo-${Math.random().toString(36).slice(2)}`);
  spawnSync('mkfifo', [fifo], { timeout: 10_000 });
  const pipe = fs.openSync(fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
  const server = net.createServer().listen(0, '127.0.0.1');
  await within("the fixture server's 'listening'", server, 'listening');
  const socket = (server as unknown as { _handle: { fd: number } })._handle.fd;
  // A number far above every open fd: closed now, and not reused by
  // anything the test opens.
  const closed = Math.max(...openFds()) + 5000;
  return {
    fds: { file, directory, devnull, pipe, socket, closed },
    close: () => {
      for (const fd of [file, directory, devnull, pipe]) fs.closeSync(fd);
      server.close();
    },
  };
}

const BAD_FDS: [unknown, string][] = [
  ['3', 'ERR_INVALID_ARG_TYPE'],
  [null, 'ERR_INVALID_ARG_TYPE'],
  [undefined, 'ERR_INVALID_ARG_TYPE'],
  [{}, 'ERR_INVALID_ARG_TYPE'],
  [3n, 'ERR_INVALID_ARG_TYPE'],
  [NaN, 'ERR_OUT_OF_RANGE'],
  [Infinity, 'ERR_OUT_OF_RANGE'],
  [-1, 'ERR_OUT_OF_RANGE'],
  [1.5, 'ERR_OUT_OF_RANGE'],
  [2 ** 31, 'ERR_OUT_OF_RANGE'],
];

t.test('the table: each entry point, each kind of bad input, its code', async (t) => {
  const caller = await callerFds();
  const { fds } = caller;
  const baseline = openFdCount();
  const kq = new Kqueuer();
  const { master, slave } = openPty();
  const con = kq.add(master);
  const cases: [string, () => unknown, string][] = [];
  for (const [v, code] of BAD_FDS) {
    cases.push([`add(${String(v)})`, () => kq.add(v as number), code]);
    cases.push([`closeConsole(${String(v)})`, () => kq.closeConsole(v as number), code]);
    cases.push([`Console.fromFd(${String(v)})`, () => Console.fromFd(v as number), code]);
  }
  cases.push(
    ['add(closed fd)', () => kq.add(fds.closed), 'EBADF'],
    ['add(regular file)', () => kq.add(fds.file), 'ERR_NOT_POLLABLE'],
    ['add(directory)', () => kq.add(fds.directory), 'ERR_NOT_POLLABLE'],
    ['add(/dev/null)', () => kq.add(fds.devnull), 'EPERM'],
    ['add(the same fd twice)', () => kq.add(master.fd), 'EEXIST'],
    ['add(bad options)', () => kq.add(slave, 5 as never), 'ERR_INVALID_ARG_TYPE'],
    ['add(bad high-water mark)', () => kq.add(slave, { readableHighWaterMark: -1 }), 'ERR_OUT_OF_RANGE'],
    ['closeConsole(an fd never added)', () => kq.closeConsole(fds.pipe), 'ENOENT'],
    ['Console.fromFd(pipe)', () => Console.fromFd(fds.pipe), 'ENOTTY'],
    ['Console.fromFd(socket)', () => Console.fromFd(fds.socket), 'ENOTTY'],
    ['Console.fromFd(file)', () => Console.fromFd(fds.file), 'ENOTTY'],
    ['Console.fromFd(closed fd)', () => Console.fromFd(fds.closed), 'EBADF'],
    ['resize(null)', () => con.resize(null as never), 'ERR_INVALID_ARG_TYPE'],
    ['resize(rows: "1")', () => con.resize({ rows: '1' as never, cols: 1 }), 'ERR_INVALID_ARG_TYPE'],
    ['resize(cols: -1)', () => con.resize({ rows: 1, cols: -1 }), 'ERR_OUT_OF_RANGE'],
    ['resize(rows: 65536)', () => con.resize({ rows: 65536, cols: 1 }), 'ERR_OUT_OF_RANGE'],
    ['resizeFrom(a pipe console)', () => con.resizeFrom({ size: () => Console.fromFd(fds.pipe).size() }), 'ENOTTY'],
    ['shutdown(42)', () => con.shutdown(42 as never), 'ERR_INVALID_ARG_TYPE'],
    ['fromNodePty({})', () => fromNodePty({} as never), 'ERR_INVALID_ARG_VALUE'],
    ['fromNodePty(null)', () => fromNodePty(null as never), 'ERR_INVALID_ARG_VALUE'],
  );
  for (const [name, call, code] of cases) {
    let err: unknown = null;
    try {
      call();
    } catch (e) {
      err = e;
    }
    t.equal((err as { code?: string } | null)?.code, code, `${name}: ${code}`);
  }
  t.equal(kq.add(fds.pipe).fd, fds.pipe, 'a pipe is a console like any other');
  kq.close();
  kq.close();
  t.throws(() => kq.add(slave), { code: 'ERR_KQUEUER_CLOSED' }, 'add after close');
  kq.ref();
  kq.unref();
  t.pass('ref() and unref() after close do nothing');
  await con.shutdown();
  await con.close();
  await con.close();
  t.pass('close() twice');
  slave.close();
  slave.close();
  t.throws(() => slave.size(), { code: 'ERR_CONSOLE_CLOSED' });
  t.throws(() => slave.setRaw(), { code: 'ERR_CONSOLE_CLOSED' });
  t.throws(() => slave.reset(), { code: 'ERR_CONSOLE_CLOSED' });
  const other = new Kqueuer();
  t.throws(() => other.add(slave), { code: 'ERR_CONSOLE_CLOSED' });
  other.close();
  const err = await new Promise<NodeJS.ErrnoException | null | undefined>((resolve) => con.write('x', resolve));
  t.equal(err?.code, 'ERR_STREAM_DESTROYED', 'write after close');
  if (!process.stdin.isTTY && !process.stdout.isTTY && !process.stderr.isTTY) {
    t.throws(() => current(), { code: 'ENOTTY' }, 'current() with no terminal');
  }
  const h = Harness.attach(new PassThrough());
  await t.rejects(h.expect('x', { timeout: 10 }), { code: 'ERR_EXPECT_TIMEOUT' });
  for (const [name, fd] of Object.entries(fds)) {
    if (name !== 'closed') t.ok(isOpen(fd), `the caller's ${name} is still open`);
  }
  fdsBackTo(t, baseline, 'no fd leaked');
  caller.close();
});

/**
 * What a call of the fuzz may throw: an errno by its name, or one of the
 * library's codes that these calls document (a bad fd, a size out of range,
 * a closed console). Anything else (no code, "Unknown system error", a code
 * from elsewhere) is a defect.
 */
function expectedCode(code: unknown): boolean {
  const library = ['ERR_NOT_POLLABLE', 'ERR_OUT_OF_RANGE', 'ERR_CONSOLE_CLOSED', 'ERR_INVALID_ARG_TYPE', 'ERR_KQUEUER_CLOSED'];
  return typeof code === 'string' && (Object.hasOwn(os.constants.errno, code) || library.includes(code));
}

t.test(`a seeded fuzz of ${scaled(2000)} random operations`, async (t) => {
  const runSeed = seed();
  const random = rng(runSeed);
  t.comment(`seed ${runSeed} (KQC_SEED=${runSeed} replays it)`);
  const caller = await callerFds();
  const baseline = openFdCount();
  let kq = new Kqueuer();
  const kqs = [kq];
  const live: KqueueConsole[] = [];
  const slaves: Console[] = [];
  const masters: Console[] = [];
  const codes = new Map<string, number>();
  const errorEvents: string[] = [];
  const pick = <T>(xs: T[]): T | undefined => xs[Math.floor(random() * xs.length)];
  const ops: (() => unknown)[] = [
    () => {
      const { master, slave } = openPty();
      slaves.push(slave);
      masters.push(master);
      // By Console (which owns the fd), or by number (which leaves it with
      // the Console): one owner either way.
      const con = random() < 0.5 ? kq.add(master, random() < 0.5 ? {} : { autoClose: false }) : kq.add(master.fd);
      // Every operation here is a call the caller chose: none surfaces as 'error'.
      con.on('error', (err: NodeJS.ErrnoException) => errorEvents.push(`${err.code}: ${err.message}`));
      live.push(con);
    },
    () => pick(live)?.write(Buffer.alloc(Math.floor(random() * 100_000))),
    () => pick(live)?.resume(),
    () => pick(live)?.pause(),
    () =>
      void pick(live)
        ?.shutdown()
        .catch(() => {}),
    () => pick(live)?.destroy(),
    () => pick(live)?.resize({ rows: Math.floor(random() * 70000), cols: Math.floor(random() * 300) }),
    () => kq.closeConsole(pick(live)?.fd ?? 0),
    () => kq.add(pick(Object.values(caller.fds))!),
    () => kq.add(Math.floor(random() * 4) - 1 + 5000),
    () => pick(slaves)?.close(),
    () => {
      const s = pick(slaves);
      if (s && !s.isClosed) kq.add(s);
    },
    () => {
      if (random() < 0.2) {
        kq.close();
        kq = new Kqueuer();
        kqs.push(kq);
      }
    },
  ];
  for (let i = 0; i < scaled(2000); i++) {
    try {
      ops[Math.floor(random() * ops.length)]();
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (!expectedCode(code)) t.fail(`op ${i}: an error with no stable code (${String(code)}): ${String(err)}`);
      codes.set(String(code), (codes.get(String(code)) ?? 0) + 1);
    }
    if (i % 50 === 0) await new Promise((r) => setImmediate(r));
  }
  for (const c of live) c.destroy();
  for (const k of kqs) k.close();
  await new Promise((r) => setImmediate(r));
  // What openPty() made is closed by its Consoles (a no-op where a stream
  // with autoClose already closed it).
  for (const c of [...slaves, ...masters]) c.close();
  t.comment(`errors by code: ${[...codes].map(([c, n]) => `${c} ${n}`).join(', ')}`);
  t.ok(codes.size > 0, 'the bad calls among them were refused, each with its code');
  t.same(errorEvents, [], "no stream emitted 'error'");
  for (const [name, fd] of Object.entries(caller.fds)) {
    if (name !== 'closed') t.ok(isOpen(fd), `the caller's ${name} is still open`);
  }
  fdsBackTo(t, baseline, 'open fds back to the baseline exactly');
  caller.close();
});
