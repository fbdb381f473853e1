// Tail and head: children that write a random 0–2 MiB payload and exit at
// once, and children that print the moment they start. Every byte and its
// checksum, every time, through spawn(), through openPty() + a child on the
// slave (read as a stream, and with the onread option) and through
// fromNodePty().
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as pty from 'node-pty';
import t from 'tap';
import { Kqueuer, fromNodePty, spawn } from '../../src/index';
import { collect, outputOf } from '../helpers/pty';
import { scaled, pool, rng, seed } from '../helpers/scale';
import { within } from '../helpers/fixtures';

const RUNS = scaled(1000);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kqc-tail-head-'));
t.teardown(() => fs.rmSync(dir, { recursive: true }));

// Payloads of random printable bytes with no newline, so that the cooked
// mode of node-pty's ptys leaves them as they are; raw-mode ptys would pass
// anything, but one set of payloads serves both paths.
const runSeed = seed();
const random = rng(runSeed);
const files = Array.from({ length: 16 }, (_, i) => {
  const size = i === 0 ? 0 : Math.floor(random() * 2 * 1024 * 1024);
  const data = Buffer.from(
    randomBytes(Math.ceil((size * 3) / 4))
      .toString('base64')
      .slice(0, size),
  );
  const file = path.join(dir, `payload-${i}`);
  fs.writeFileSync(file, data);
  return { file, size: data.length, sha: createHash('sha256').update(data).digest('hex') };
});
t.comment(`seed ${runSeed} (KQC_SEED=${runSeed} replays it); ${RUNS} runs per scenario`);

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Where `got` first differs from the payload in `file`, with the bytes around it. */
function difference(got: Buffer, file: string): string {
  const want = fs.readFileSync(file);
  let i = 0;
  while (i < got.length && i < want.length && got[i] === want[i]) i++;
  const around = (b: Buffer): string => JSON.stringify(b.subarray(Math.max(0, i - 16), i + 32).toString('latin1'));
  return `first difference at byte ${i}: got ${around(got)}, want ${around(want)}`;
}

for (const onread of [false, true]) {
  const how = onread ? 'openPty + child, read with onread' : 'openPty + child';
  const runs = onread ? RUNS / 2 : RUNS; // The same path past the reads: half as many keep CI short.
  t.test(`tail: ${runs} children write 0–2 MiB and exit at once (${how})`, async (t) => {
    const kq = new Kqueuer();
    let bad = 0;
    let bytes = 0;
    await pool(runs, 4, async (run) => {
      const f = files[Math.floor(random() * files.length)];
      const got = await outputOf(kq, 'cat', [f.file], true, onread);
      bytes += got.length;
      if (got.length !== f.size || sha(got) !== f.sha) {
        bad++;
        t.fail(`run ${run}: ${got.length} of ${f.size} bytes, or a wrong checksum; ${difference(got, f.file)}`);
      }
    });
    t.equal(bad, 0, `${runs} runs, ${(bytes / 1048576).toFixed(0)} MiB, every byte and checksum`);
    kq.close();
  });
}

t.test(`tail: ${RUNS} children write 0–2 MiB and exit at once (spawn())`, async (t) => {
  const kq = new Kqueuer();
  let bad = 0;
  await pool(RUNS, 4, async (run) => {
    const f = files[Math.floor(random() * files.length)];
    const p = spawn('cat', [f.file], { raw: true, kqueuer: kq });
    const out = collect(p.console);
    // Nothing wired: the stream ends by itself once cat has exited.
    await within('the console: end', p.console, 'end');
    const got = out.buffer();
    if (got.length !== f.size || sha(got) !== f.sha) {
      bad++;
      t.fail(`run ${run}: ${got.length} of ${f.size} bytes, or a wrong checksum; ${difference(got, f.file)}`);
    }
  });
  t.equal(bad, 0, `${RUNS} runs, ${RUNS} spawn()s, every byte and checksum`);
  kq.close();
});

// node-pty's own spawn is most of its cost: half as many runs keep npm test short.
const PTY_RUNS = Math.max(1, Math.round(RUNS / 2));
t.test(`tail: ${PTY_RUNS} children write 0–2 MiB and exit at once (fromNodePty)`, async (t) => {
  const kq = new Kqueuer();
  let bad = 0;
  await pool(PTY_RUNS, 4, async (run) => {
    const f = files[Math.floor(random() * files.length)];
    const con = fromNodePty(pty.spawn('cat', [f.file], { cols: 80, rows: 24 }), kq);
    const out = collect(con);
    await within('con: end', con, 'end');
    const got = out.buffer();
    if (got.length !== f.size || sha(got) !== f.sha) {
      bad++;
      t.fail(`run ${run}: ${got.length} of ${f.size} bytes, or a wrong checksum; ${difference(got, f.file)}`);
    }
  });
  t.equal(bad, 0, `${PTY_RUNS} runs, every byte and checksum`);
  kq.close();
});

t.test(`head: ${RUNS} children print the moment they start`, async (t) => {
  const kq = new Kqueuer();
  let bad = 0;
  await pool(RUNS, 4, async (run) => {
    const word = `start-${run}`;
    let text: string;
    if (run % 2 === 0) {
      text = (await outputOf(kq, 'printf', [word], false)).toString();
    } else {
      const con = fromNodePty(pty.spawn('printf', [word], { cols: 80, rows: 24 }), kq);
      const out = collect(con);
      await within('con: end', con, 'end');
      text = out.text();
    }
    if (text !== word) {
      bad++;
      t.fail(`run ${run}: ${JSON.stringify(text)}`);
    }
  });
  t.equal(bad, 0, `${RUNS} runs, half through each path, each output exact from its first byte`);
  kq.close();
});
