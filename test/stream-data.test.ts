// Bytes through KqueueConsole on real ptys with real children: exact bytes
// and no tail loss.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import t from 'tap';
import { openPty } from '../src/index';
import { exitCode, outputOf, spawnOnSlave } from './helpers/pty';
import { kqueuerFor, ptyFor, waitUntil } from './helpers/fixtures';

t.test('16 MiB of random bytes through cat in raw mode, written and read at once', async (t) => {
  const kq = kqueuerFor(t);
  const { master, slave } = ptyFor(t);
  slave.setRaw({ opost: false });
  const child = spawnOnSlave(slave.fd, 'cat');
  slave.close();
  const con = kq.add(master);

  const size = 16 * 1024 * 1024;
  const payload = randomBytes(size);
  const hash = createHash('sha256');
  let got = 0;
  con.on('data', (b: Buffer) => {
    hash.update(b);
    got += b.length;
  });
  const chunks = Array.from({ length: size / 65536 }, (_, i) => payload.subarray(i * 65536, (i + 1) * 65536));
  Readable.from(chunks).pipe(con, { end: false });
  await waitUntil('got >= size', () => got >= size, { on: con });
  t.equal(got, size, 'every byte came back');
  t.equal(hash.digest('hex'), createHash('sha256').update(payload).digest('hex'), 'sha256 matches');

  child.kill();
  await exitCode(child);
  await con.shutdown();
  await con.close();
});

t.test('no tail loss: a child writes 4 MiB and exits at once, 100 times', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kqc-tail-'));
  const file = path.join(dir, 'payload');
  const payload = randomBytes(4 * 1024 * 1024);
  fs.writeFileSync(file, payload);
  const want = createHash('sha256').update(payload).digest('hex');
  const kq = kqueuerFor(t);
  let failures = 0;
  for (let run = 0; run < 100; run++) {
    const buf = await outputOf(kq, 'cat', [file]);
    if (buf.length !== payload.length || createHash('sha256').update(buf).digest('hex') !== want) {
      failures++;
      t.fail(`run ${run}: ${buf.length} of ${payload.length} bytes, or a wrong checksum`);
    }
  }
  t.equal(failures, 0, 'every byte, with the right checksum, in all 100 runs');
  kq.close();
  fs.rmSync(dir, { recursive: true });
});

t.test('consoles of one Kqueuer read into one buffer, one after the other', async (t) => {
  const kq = kqueuerFor(t);
  const [a, b] = [openPty(), openPty()];
  const conA = kq.add(a.master);
  const conB = kq.add(b.master);
  const [fromA, fromB]: Buffer[][] = [[], []];
  conA.on('data', (c: Buffer) => fromA.push(c));
  conB.on('data', (c: Buffer) => fromB.push(c));
  fs.writeSync(a.slave.fd, 'first\n');
  await waitUntil('fromA.length > 0', () => fromA.length > 0, { on: conA });
  fs.writeSync(b.slave.fd, 'second\n');
  await waitUntil('fromB.length > 0', () => fromB.length > 0, { on: conB });
  t.equal(fromA[0].toString(), 'first\r\n');
  t.equal(fromB[0].toString(), 'second\r\n');
  t.equal(fromB[0].buffer, fromA[0].buffer, "the second console's bytes went into the first's buffer");
  t.equal(fromB[0].byteOffset, fromA[0].byteOffset + fromA[0].length, 'right after them');
  for (const con of [conA, conB]) {
    await con.shutdown();
    await con.close();
  }
  a.slave.close();
  b.slave.close();
});

t.test("a chunk's ArrayBuffer transferred away: the reads after it go into a fresh buffer", async (t) => {
  const kq = kqueuerFor(t);
  const pty = openPty();
  t.teardown(() => pty.slave.close());
  const con = kq.add(pty.master);
  const chunks: Buffer[] = [];
  con.on('data', (c: Buffer) => chunks.push(c));
  fs.writeSync(pty.slave.fd, 'first\n');
  await waitUntil('the first line read', () => chunks.length > 0, { on: con });
  // As postMessage(chunk.buffer, [chunk.buffer]) would: the buffer the
  // console reads into is detached, its memory another thread's.
  const moved = structuredClone(chunks[0].buffer, { transfer: [chunks[0].buffer] });
  const before = Buffer.from(moved).toString('latin1');
  fs.writeSync(pty.slave.fd, 'second\n');
  await waitUntil('the second line read', () => chunks.length > 1, { on: con });
  t.equal(chunks[1].toString(), 'second\r\n', 'the next line comes whole');
  t.not(chunks[1].buffer.byteLength, 0, 'in a buffer that is not detached');
  t.equal(Buffer.from(moved).toString('latin1'), before, 'and nothing was written into the transferred one');
  await con.shutdown();
  await con.close();
});

t.test("many consoles on one Kqueuer, reading at once: each one's bytes stay its own", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kqc-shared-'));
  const kq = kqueuerFor(t);
  const count = 8;
  const runs = Array.from({ length: count }, (_, i) => {
    const payload = randomBytes(1024 * 1024);
    const file = path.join(dir, `payload-${i}`);
    fs.writeFileSync(file, payload);
    const { master, slave } = ptyFor(t);
    slave.setRaw({ opost: false });
    const child = spawnOnSlave(slave.fd, 'cat', [file]);
    slave.close();
    // The last console reads into buffers of its own.
    const con = kq.add(master, i === count - 1 ? { readBufferSize: 16 * 1024 } : {});
    const chunks: Buffer[] = [];
    con.on('data', (b: Buffer) => chunks.push(b));
    return { payload, child, con, chunks };
  });
  for (const r of runs) {
    await exitCode(r.child);
    await waitUntil(
      'r.chunks.reduce((n, b) => n + b.length, 0) >= r.payload.length',
      () => r.chunks.reduce((n, b) => n + b.length, 0) >= r.payload.length,
      { on: r.con },
    );
  }
  for (const [i, r] of runs.entries()) t.ok(Buffer.concat(r.chunks).equals(r.payload), `console ${i}: every byte, in order`);

  // Which consoles each underlying buffer served, and the byte ranges it handed out.
  const users = new Map<ArrayBuffer, Set<number>>();
  const ranges = new Map<ArrayBuffer, [number, number][]>();
  runs.forEach((r, i) => {
    for (const b of r.chunks) {
      const ab = b.buffer as ArrayBuffer;
      if (!users.has(ab)) users.set(ab, new Set());
      users.get(ab)!.add(i);
      if (!ranges.has(ab)) ranges.set(ab, []);
      ranges.get(ab)!.push([b.byteOffset, b.byteOffset + b.length]);
    }
  });
  t.notOk(
    [...users.values()].some((s) => s.size > 1 && s.has(count - 1)),
    'a console with a readBufferSize of its own never shares',
  );
  let overlaps = 0;
  for (const list of ranges.values()) {
    list.sort((a, b) => a[0] - b[0]);
    for (let k = 1; k < list.length; k++) if (list[k][0] < list[k - 1][1]) overlaps++;
  }
  t.equal(overlaps, 0, 'no two chunks of one buffer overlap');

  for (const r of runs) {
    await r.con.shutdown();
    await r.con.close();
  }
  kq.close();
  fs.rmSync(dir, { recursive: true });
});
