// Many consoles at once, and many short lives: all bytes delivered, no
// thread of the library's own beyond a thread-mode Kqueuer's one waiter, fds
// back to the baseline exactly, memory flat.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import * as path from 'node:path';
import t from 'tap';
import { Kqueuer, openPty } from '../../src/index';
import { fdsBackTo, openFdCount } from '../helpers/fds';
import { collectGarbage, memoryFiguresUnreliable } from '../helpers/pty';
import { scaled } from '../helpers/scale';
import { deviation } from '../helpers/libkqueue';
import { kqueuerFor, waitUntil, within } from '../helpers/fixtures';

/** The process's threads (Node's own: V8 platform workers, libuv's pool if started, ...). */
function threads(): number {
  return fs.readdirSync('/proc/self/task').length;
}

t.test('500 consoles on one Kqueuer, all busy at once', { skip: deviation('fullListLosesEvent') }, async (t) => {
  const baseline = openFdCount();
  const threadsBefore = threads();
  const kq = kqueuerFor(t);
  // Poll mode: the loop thread polls the kqueue. Thread mode: one waiter.
  const expected = threadsBefore + (kq.wakeup === 'thread' ? 1 : 0);
  const size = 256 * 1024;
  const pairs = Array.from({ length: 250 }, (_, i) => {
    const { master, slave } = openPty();
    master.setRaw({ opost: false });
    const payload = Buffer.alloc(size, i % 251);
    return { m: kq.add(master), s: kq.add(slave), payload, want: createHash('sha256').update(payload).digest('hex') };
  });
  t.equal(threads(), expected, `500 consoles on one Kqueuer (${kq.wakeup} mode) start no thread of their own`);
  // Each master writes to its slave and each slave to its master: 500
  // consoles reading and writing at once.
  const done = pairs.map(async ({ m, s, payload, want }) => {
    const fromSlave = createHash('sha256');
    const fromMaster = createHash('sha256');
    let a = 0;
    let b = 0;
    m.on('data', (chunk: Buffer) => ((a += chunk.length), fromSlave.update(chunk)));
    s.on('data', (chunk: Buffer) => ((b += chunk.length), fromMaster.update(chunk)));
    m.write(payload);
    s.write(payload);
    await Promise.all([waitUntil('a >= size', () => a >= size, { on: m }), waitUntil('b >= size', () => b >= size, { on: s })]);
    return a === size && b === size && fromSlave.digest('hex') === want && fromMaster.digest('hex') === want;
  });
  const results = await Promise.all(done);
  t.equal(results.filter(Boolean).length, 250, 'all 250 × 2 × 256 KiB arrived, checksums right');
  t.equal(threads(), expected, 'and none while they are all busy');
  for (const p of pairs) {
    p.m.destroy();
    p.s.destroy();
  }
  await new Promise((r) => setImmediate(r));
  kq.close();
  fdsBackTo(t, baseline, 'fds back to the baseline');
});

t.test(`${scaled(5000)} cycles of openPty → add → traffic → shutdown → destroy`, async (t) => {
  const kq = new Kqueuer();
  const cycle = async (): Promise<void> => {
    const { master, slave } = openPty();
    const con = kq.add(master);
    let got = '';
    con.setEncoding('utf8').on('data', (s: Buffer | string) => (got += s));
    fs.writeSync(slave.fd, 'ping\n');
    await waitUntil("got.includes('ping')", () => got.includes('ping'), { on: con });
    await con.shutdown();
    await con.close();
    slave.close();
  };
  for (let i = 0; i < 500; i++) await cycle(); // Warm up: JIT and heap settle.
  const baseline = openFdCount();
  // Measured after full collections: how soon V8 collects a cycle's garbage
  // depends on the heap around it (the test runner's is large), not on leaks.
  await collectGarbage();
  const before = process.memoryUsage();
  for (let i = 0; i < scaled(5000); i++) await cycle();
  fdsBackTo(t, baseline, 'open fds back to the baseline exactly');
  await collectGarbage();
  const after = process.memoryUsage();
  const heapGrowth = after.heapUsed - before.heapUsed;
  t.ok(heapGrowth < 2 * 1024 * 1024, `the heap, collected, grew ${(heapGrowth / 1048576).toFixed(2)} MiB`);
  // Native memory: the RSS outside V8's heap (whose own size is V8's choice).
  const growth = after.rss - after.heapTotal - (before.rss - before.heapTotal);
  const unreliable = memoryFiguresUnreliable();
  if (unreliable) t.pass(`RSS growth (${(growth / 1048576).toFixed(2)} MiB) not judged`, { skip: unreliable });
  else t.ok(growth < 10 * 1024 * 1024, `the RSS outside V8's heap grew ${(growth / 1048576).toFixed(2)} MiB`);
  kq.close();
});

t.test(`${scaled(200)} Workers created and terminated mid-read`, async (t) => {
  const fixture = path.join(__dirname, '..', 'fixtures', 'worker-reader.js');
  const baseline = openFdCount();
  for (let i = 0; i < scaled(200); i++) {
    const worker = new Worker(fixture, { execArgv: [] }); // Plain JS: no TypeScript loader to boot.
    await within('worker: message', worker, 'message', 120_000); // It is reading, with bytes in flight.
    await worker.terminate();
  }
  fdsBackTo(t, baseline, 'open fds back to the baseline exactly');
  // The process carries on.
  const { master, slave } = openPty();
  const kq = new Kqueuer();
  const con = kq.add(master);
  let got = '';
  con.setEncoding('utf8').on('data', (s: Buffer | string) => (got += s));
  fs.writeSync(slave.fd, 'still here\n');
  await waitUntil("got.includes('still here')", () => got.includes('still here'), { on: con });
  t.pass('and the main thread carries on');
  await con.close();
  slave.close();
  kq.close();
});
