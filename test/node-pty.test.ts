// fromNodePty(): node-pty spawns, kqueue-console reads. No tail lost at exit,
// no head lost at start, resize reaches the pty. node-pty's own onData runs
// the same workload beside it, for comparison.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as pty from 'node-pty';
import t from 'tap';
import { Kqueuer, fromNodePty } from '../src/index';
import { fdsBackTo, openFdCount } from './helpers/fds';
import { deviation } from './helpers/libkqueue';
import { collect } from './helpers/pty';
import { kqueuerFor, waitUntil, within } from './helpers/fixtures';
import { scaled } from './helpers/scale';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kqc-node-pty-'));
t.teardown(() => fs.rmSync(dir, { recursive: true }));

// 1 MiB of text with no newline, so the pty's output processing (ONLCR)
// leaves it as it is.
const payload = Buffer.from(randomBytes(786_432).toString('base64'));
const file = path.join(dir, 'payload');
fs.writeFileSync(file, payload);
const want = createHash('sha256').update(payload).digest('hex');

/** Runs `cat file` under node-pty and reads it through kqueue-console. */
async function runOurs(kq: Kqueuer): Promise<Buffer> {
  const p = pty.spawn('cat', [file], { cols: 80, rows: 24 });
  const con = fromNodePty(p, kq);
  const out = collect(con);
  await within('con: end', con, 'end');
  return out.buffer();
}

/** The same with node-pty's own onData. */
async function runNodePty(): Promise<number> {
  const p = pty.spawn('cat', [file], { cols: 80, rows: 24, encoding: null } as pty.IPtyForkOptions);
  let got = 0;
  p.onData((d: string | Buffer) => (got += typeof d === 'string' ? Buffer.byteLength(d) : d.length));
  await new Promise((resolve) => p.onExit(resolve));
  return got;
}

const RUNS = scaled(1000);
const STARTS = scaled(200);

t.test(`${RUNS} runs of a child that writes 1 MiB and exits at once lose no byte`, async (t) => {
  const baseline = openFdCount();
  const kq = kqueuerFor(t);
  const runs = RUNS;
  const parallel = 4;
  let bad = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < runs) {
        const run = next++;
        const got = await runOurs(kq);
        if (got.length !== payload.length || createHash('sha256').update(got).digest('hex') !== want) {
          bad++;
          t.fail(`run ${run}: ${got.length} of ${payload.length} bytes, or a wrong checksum`);
        }
      }
    }),
  );
  t.equal(bad, 0, `${runs} runs, every byte with the right checksum`);
  kq.close();
  // node-pty closes its own fds once it has reaped the child; wait for that.
  if (!deviation('ownFds')) {
    await waitUntil(`node-pty closing its fds (back to ${baseline})`, () => openFdCount() === baseline, { ms: 2000 });
  }
  fdsBackTo(t, baseline, 'no fd leaked');

  let lossy = 0;
  let worst = 0;
  for (let i = 0; i < 50; i++) {
    const got = await runNodePty();
    if (got < payload.length) {
      lossy++;
      worst = Math.max(worst, payload.length - got);
    }
  }
  t.comment(`for comparison, node-pty's own onData lost a tail in ${lossy} of 50 runs (up to ${worst} bytes)`);
});

t.test(`${STARTS} runs of a child that prints at once on start lose no leading byte`, async (t) => {
  const kq = kqueuerFor(t);
  let bad = 0;
  for (let i = 0; i < STARTS; i++) {
    const p = pty.spawn('printf', ['first bytes'], { cols: 80, rows: 24 });
    const con = fromNodePty(p, kq);
    const out = collect(con);
    await within('con: end', con, 'end');
    if (out.text() !== 'first bytes') {
      bad++;
      t.fail(`run ${i}: ${JSON.stringify(out.text())}`);
    }
  }
  t.equal(bad, 0, `${STARTS} runs, each exactly "first bytes"`);
});

t.test('resize() reaches the pty; input goes through the stream', async (t) => {
  const p = pty.spawn('sh', ['-c', 'read line; stty size; echo "got:$line"'], { cols: 80, rows: 24 });
  const con = fromNodePty(p);
  const out = collect(con);
  con.resize({ rows: 33, cols: 111 });
  t.same(con.size(), { rows: 33, cols: 111, xpixel: 0, ypixel: 0 });
  con.write('hello\n');
  await waitUntil("out.text().includes('got:hello')", () => out.text().includes('got:hello'), { on: con });
  await within('con: end', con, 'end');
  t.equal(out.text(), 'hello\r\n33 111\r\ngot:hello\r\n', 'the echo, the new size, the line');
});

t.test('fromNodePty refuses what is not a node-pty IPty', async (t) => {
  t.throws(() => fromNodePty({} as never), { code: 'ERR_INVALID_ARG_VALUE' });
  t.throws(() => fromNodePty({ _fd: -1, pid: 1, onExit: () => ({ dispose() {} }) } as never), { code: 'ERR_INVALID_ARG_VALUE' });
});
