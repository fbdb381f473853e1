// The library as any runtime that loads it runs it: the built package
// (dist/), streams on both sides of a pty (no fs call on a raw fd: Deno's fs
// takes its own resource ids), and the wake-up the runtime gets. tap runs it
// under Node with the rest; scripts/test-runtimes.mjs under Bun and Deno,
// through test/runtime/tap-subset.ts.
import { createHash, randomBytes } from 'node:crypto';
import { once, type EventEmitter } from 'node:events';
import t from 'tap';
// The compiled package: Deno runs TypeScript as ES modules, and src/ is
// written for CommonJS (__dirname).
import * as kqc from '../../dist/index.js';
import { runtimeWithoutLibuv } from '../../dist/kqueuer/wakeup.js';
import { waiterThreads, waiterThreadsBackTo } from '../helpers/threads';

const runtime = runtimeWithoutLibuv();
const WAIT_MS = 10_000;

/** The first `event` of `emitter`, or a rejection naming what did not happen. */
async function within<T extends unknown[]>(what: string, emitter: EventEmitter, event: string): Promise<T> {
  const signal = AbortSignal.timeout(WAIT_MS);
  try {
    return (await once(emitter, event, { signal })) as T;
  } catch (err) {
    if (signal.aborted) throw new Error(`${what}: no '${event}' within ${WAIT_MS} ms`);
    throw err;
  }
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

t.test('the wake-up this runtime gets', async (t) => {
  const kq = new kqc.Kqueuer();
  t.teardown(() => kq.close());
  if (runtime !== null) {
    t.equal(kq.wakeup, 'tsfn', `under ${runtime}, a thread-safe function`);
    t.throws(() => new kqc.Kqueuer({ wakeup: 'poll' }), { code: 'ERR_WAKEUP_UNAVAILABLE' }, "and 'poll' is refused with a code");
  } else {
    t.not(kq.wakeup, 'tsfn', 'under Node, a libuv mode');
  }
});

t.test('1 MiB each way through a pty, byte for byte, and every thread joined', async (t) => {
  const threads = waiterThreads();
  const kq = new kqc.Kqueuer({ wakeup: 'tsfn' });
  const { master, slave } = kqc.openPty();
  slave.setRaw({ opost: false });
  const a = kq.add(master);
  const b = kq.add(slave);
  t.teardown(() => {
    a.destroy();
    b.destroy();
    master.close();
    slave.close();
    kq.close();
  });
  t.equal(waiterThreads(), threads + 1, 'one waiter thread while the Kqueuer is open');
  const down = randomBytes(1 << 20);
  const up = randomBytes(1 << 20);
  const read = (con: kqc.KqueueConsole, size: number): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let n = 0;
      const timer = setTimeout(() => reject(new Error(`read ${n} of ${size} bytes within ${WAIT_MS} ms`)), WAIT_MS);
      con.on('data', (d: Buffer) => {
        chunks.push(d);
        n += d.length;
        if (n >= size) {
          clearTimeout(timer);
          resolve(Buffer.concat(chunks));
        }
      });
    });
  const [atSlave, atMaster] = await Promise.all([read(b, down.length), read(a, up.length), a.write(down), b.write(up)]);
  t.equal(sha(atSlave), sha(down), 'the slave read what the master wrote');
  t.equal(sha(atMaster), sha(up), 'the master read what the slave wrote');
  a.destroy();
  b.destroy();
  kq.close();
  t.equal(await waiterThreadsBackTo(threads), threads, 'close() joined the waiter thread');
});

t.test('shutdown(close) drains, calls close once with the fd, then ends', async (t) => {
  const kq = new kqc.Kqueuer();
  t.teardown(() => kq.close());
  const { master, slave } = kqc.openPty();
  slave.setRaw({ opost: false });
  const con = kq.add(master);
  const wire = kq.add(slave);
  t.teardown(() => {
    wire.destroy();
    slave.close();
  });
  let text = '';
  con.on('data', (d: Buffer) => (text += d.toString()));
  const order: string[] = [];
  con.on('end', () => order.push('end'));
  await new Promise<void>((resolve) => wire.write('last words', () => resolve()));
  const ended = within('con', con, 'end');
  const calls: number[] = [];
  await con.shutdown((fd) => {
    calls.push(fd);
    order.push('close');
    kq.closeConsole(fd);
  });
  await ended;
  t.equal(text, 'last words', 'what the pty held was read before the end');
  t.same(calls, [master.fd], 'close was called once, with the fd');
  t.same(order, ['close', 'end'], "before 'end'");
});

t.test('spawn(): output, exit code and a signal', async (t) => {
  const child = kqc.spawn('sh', ['-c', 'printf "%s" "$PWD"; exit 7'], { raw: true, cwd: '/tmp' });
  let out = '';
  for await (const chunk of child.console) out += chunk;
  t.same(await child.exited, { exitCode: 7, signal: null }, 'exit code 7');
  t.equal(out, '/tmp', 'in the cwd given');
  const sleeper = kqc.spawn('sleep', ['30']);
  sleeper.console.resume();
  sleeper.kill('SIGTERM');
  t.same(await sleeper.exited, { exitCode: null, signal: 'SIGTERM' }, 'kill() ends it with the signal');
  t.throws(
    () => kqc.spawn('no-such-program-here'),
    { code: 'ENOENT', syscall: 'spawn no-such-program-here' },
    'a missing program throws ENOENT',
  );
});
