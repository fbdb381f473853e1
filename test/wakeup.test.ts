// How the loop wakes (native/waker.h): chosen per kqueue by a probe, forced
// by the `wakeup` option or KQUEUE_CONSOLE_WAKEUP, and in thread and tsfn
// modes a waiter thread that is joined on every way out: close(), a
// terminated worker, process exit. Under Bun and Deno (no libuv) only tsfn
// is there; scripts/test-runtimes.mjs runs this file under Bun.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import t from 'tap';
import { addonPath, binding } from '../src/addon/binding';
import { Kqueuer, openPty } from '../src/index';
import { runtimeWithoutLibuv } from '../src/kqueuer/wakeup';
import { fdsBackTo, isOpen, openFdCount } from './helpers/fds';
import { waiterThreads, waiterThreadsBackTo } from './helpers/threads';
import { ptyFor, waitUntil, within } from './helpers/fixtures';

const native = binding();
const runtime = runtimeWithoutLibuv();
// libkqueue's kqueue fd is never readable to poll(2); the kernels' and the
// emulation's are (waker.h cites where).
const probed = runtime !== null ? 'tsfn' : native.backend === 'libkqueue' ? 'thread' : 'poll';
/** The modes this runtime has, and the mode with a waiter thread it uses. */
const modes = runtime !== null ? (['tsfn'] as const) : (['poll', 'thread', 'tsfn'] as const);
const threadMode = runtime !== null ? 'tsfn' : 'thread';

function withEnv(value: string | undefined, fn: () => void): void {
  const saved = process.env.KQUEUE_CONSOLE_WAKEUP;
  if (value === undefined) delete process.env.KQUEUE_CONSOLE_WAKEUP;
  else process.env.KQUEUE_CONSOLE_WAKEUP = value;
  try {
    fn();
  } finally {
    if (saved === undefined) delete process.env.KQUEUE_CONSOLE_WAKEUP;
    else process.env.KQUEUE_CONSOLE_WAKEUP = saved;
  }
}

t.test('without libuv, the wake-up is tsfn and the libuv modes are refused', { skip: runtime === null && 'under Node' }, async (t) => {
  for (const wakeup of ['poll', 'thread'] as const) {
    t.throws(
      () => new Kqueuer({ wakeup }),
      { code: 'ERR_WAKEUP_UNAVAILABLE', message: new RegExp(`${runtime}`) },
      `'${wakeup}' is refused`,
    );
  }
  withEnv('thread', () => {
    t.throws(() => new Kqueuer(), { code: 'ERR_WAKEUP_UNAVAILABLE' }, 'also from KQUEUE_CONSOLE_WAKEUP');
  });
  for (const wakeup of ['auto', 'tsfn'] as const) {
    const kq = new Kqueuer({ wakeup });
    t.equal(kq.wakeup, 'tsfn', `'${wakeup}' is tsfn`);
    kq.close();
  }
});

t.test('the wake-up is probed, can be forced, and is checked', { skip: runtime !== null && `under ${runtime}` }, async (t) => {
  const threads = waiterThreads();
  withEnv(undefined, () => {
    const kq = new Kqueuer();
    t.equal(kq.wakeup, probed, `with no option, the probe of a ${native.backend} kqueue chooses ${probed}`);
    kq.close();
    t.equal(kq.wakeup, null, 'and a closed Kqueuer has none');
  });

  const threaded = new Kqueuer({ wakeup: 'thread' });
  t.equal(threaded.wakeup, 'thread', "'thread' is a thread");
  t.equal(waiterThreads(), threads + 1, 'one waiter thread, named kqueue-waiter');
  threaded.close();
  t.equal(await waiterThreadsBackTo(threads), threads, 'joined by close()');

  if (probed === 'poll') {
    const polled = new Kqueuer({ wakeup: 'poll' });
    t.equal(polled.wakeup, 'poll', "'poll' polls");
    polled.close();
  } else {
    t.throws(
      () => new Kqueuer({ wakeup: 'poll' }),
      { code: 'ERR_KQUEUE_NOT_POLLABLE' },
      "'poll' on a kqueue that is not pollable is refused",
    );
  }

  withEnv('thread', () => {
    const kq = new Kqueuer();
    t.equal(kq.wakeup, 'thread', 'KQUEUE_CONSOLE_WAKEUP=thread forces the thread');
    kq.close();
    const auto = new Kqueuer({ wakeup: 'auto' });
    t.equal(auto.wakeup, probed, 'and the option wins over it');
    auto.close();
  });
  withEnv('sometimes', () => {
    t.throws(
      () => new Kqueuer(),
      { code: 'ERR_INVALID_ARG_VALUE', message: /KQUEUE_CONSOLE_WAKEUP/ },
      'a bad environment value is refused by name',
    );
  });
  t.throws(
    () => new Kqueuer({ wakeup: 'epoll' as 'poll' }),
    { code: 'ERR_INVALID_ARG_VALUE', message: /options\.wakeup/ },
    'so is a bad option',
  );
  t.throws(() => new Kqueuer(7 as unknown as object), { code: 'ERR_INVALID_ARG_TYPE' }, 'and options that are not an object');
  t.equal(await waiterThreadsBackTo(threads), threads, 'no waiter thread is left');
});

for (const wakeup of modes) {
  if (wakeup === 'poll' && probed !== 'poll') continue;
  t.test(`${wakeup} mode: 1 MiB each way at once through one kqueue, byte for byte`, async (t) => {
    const kq = new Kqueuer({ wakeup });
    t.teardown(() => kq.close());
    const { master, slave } = ptyFor(t);
    slave.setRaw({ opost: false });
    const a = kq.add(master);
    const b = kq.add(slave);
    const size = 1 << 20;
    const down = Buffer.alloc(size, 'master>');
    const up = Buffer.alloc(size, 'slave<');
    const got = { a: [] as Buffer[], b: [] as Buffer[], na: 0, nb: 0 };
    a.on('data', (d: Buffer) => {
      got.a.push(d);
      got.na += d.length;
    });
    b.on('data', (d: Buffer) => {
      got.b.push(d);
      got.nb += d.length;
    });
    a.write(down);
    b.write(up);
    await waitUntil(`${wakeup} mode: 1 MiB both ways (got ${got.na} and ${got.nb})`, () => got.na >= size && got.nb >= size, {
      ms: 60_000,
    });
    t.ok(Buffer.concat(got.b).equals(down), 'the slave read what the master wrote');
    t.ok(Buffer.concat(got.a).equals(up), 'the master read what the slave wrote');
    t.equal(kq.wakeup, wakeup, `and the Kqueuer stayed in ${wakeup} mode`);
  });
}

// The modes with a waiter thread, by their number in the addon.
const THREADED = runtime !== null ? { tsfn: 3 } : { thread: 2, tsfn: 3 };

for (const [mode, number] of Object.entries(THREADED)) {
  t.test(`a ${mode}-mode Kqueue in a Worker terminated mid-wait leaves no thread and no fd`, async (t) => {
    const baseline = openFdCount();
    const threads = waiterThreads();
    for (let i = 0; i < 5; i++) {
      const worker = new Worker(
        `
      const { parentPort } = require('node:worker_threads');
      const native = require(${JSON.stringify(addonPath())});
      const kq = new native.Kqueue(() => {}, ${number});
      const [master, slave] = native.openPty();
      kq.add(master, 1);
      kq.ref();
      parentPort.postMessage({ kq: kq.fd, wakeup: kq.wakeup });
      `,
        { eval: true, execArgv: [] },
      );
      const [msg] = (await within('worker: message', worker, 'message', 120_000)) as [{ kq: number; wakeup: string }];
      t.equal(msg.wakeup, mode, `the worker waits in ${mode} mode`);
      t.equal(waiterThreads(), threads + 1, 'with its waiter thread running');
      await worker.terminate();
      t.notOk(isOpen(msg.kq), 'terminating the worker closed its kqueue');
      t.equal(await waiterThreadsBackTo(threads), threads, 'and joined its waiter thread');
    }
    fdsBackTo(t, baseline, 'no fd leaked across 5 workers');
  });
}

function runNode(code: string): Promise<{ code: number | null; stdout: string }> {
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  return within('child: close', child, 'close', 120_000).then(([exit]) => ({ code: exit as number | null, stdout }));
}

for (const [mode, number] of Object.entries(THREADED)) {
  t.test(`a process with a ${mode}-mode Kqueue exits on its own, and through process.exit()`, async (t) => {
    const load = `const native = require(${JSON.stringify(addonPath())});
    const kq = new native.Kqueue(() => {}, ${number});
    const [master, slave] = native.openPty();
    kq.add(master, 1);`;
    t.same(await runNode(`${load} console.log(kq.wakeup);`), { code: 0, stdout: `${mode}\n` }, 'an idle one does not hold the process');
    t.same(
      await runNode(`${load} require('node:fs').writeSync(slave, 'x'); kq.ref(); setImmediate(() => process.exit(0));`),
      { code: 0, stdout: '' },
      'process.exit() while its thread waits runs the cleanup hook and exits 0',
    );
  });
}

t.test('a pty opened before a thread-mode Kqueuer reads through it', async (t) => {
  // The waiter thread starts with the kqueue; an fd added later is seen by
  // its next kevent(), which is already waiting.
  const { master, slave } = openPty();
  t.teardown(() => {
    master.close();
    slave.close();
  });
  const kq = new Kqueuer({ wakeup: threadMode });
  t.teardown(() => kq.close());
  const con = kq.add(master);
  const data = within<[Buffer]>('con: data', con, 'data');
  fs.writeSync(slave.fd, 'late');
  const [chunk] = await data;
  t.equal(chunk.toString(), 'late', 'an fd added while the thread waits is woken for');
});
