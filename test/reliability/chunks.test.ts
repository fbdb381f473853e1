// The shared read buffer hands out slices: no slice may be written again
// while a consumer holds it. Many consoles read into one Kqueuer's buffer at
// once, consumers keep every chunk with a copy taken when it arrived, some
// pause and resume at random, and at the end every chunk must still equal
// its copy, and each stream its child's bytes.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { Kqueuer, openPty } from '../../src/index';
import { exitCode, spawnOnSlave } from '../helpers/pty';
import { scaled, pool, rng, seed } from '../helpers/scale';
import { within } from '../helpers/fixtures';

const RUNS = scaled(200);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kqc-chunks-'));
t.teardown(() => fs.rmSync(dir, { recursive: true }));

t.test(`${RUNS} children on one Kqueuer, 8 at a time: every chunk kept unchanged`, async (t) => {
  const runSeed = seed();
  const random = rng(runSeed);
  t.comment(`seed ${runSeed} (KQC_SEED=${runSeed} replays it)`);
  const files = Array.from({ length: 8 }, (_, i) => {
    const data = randomBytes(Math.floor(random() * 512 * 1024) + 1);
    const file = path.join(dir, `payload-${i}`);
    fs.writeFileSync(file, data);
    return { file, sha: createHash('sha256').update(data).digest('hex'), size: data.length };
  });
  const kq = new Kqueuer();
  let chunks = 0;
  let changed = 0;
  let wrong = 0;
  await pool(RUNS, 8, async (run) => {
    const f = files[Math.floor(random() * files.length)];
    const { master, slave } = openPty();
    slave.setRaw({ opost: false });
    const con = kq.add(master);
    const kept: { chunk: Buffer; copy: Buffer }[] = [];
    const pauses = random() < 0.5;
    con.on('data', (chunk) => {
      kept.push({ chunk, copy: Buffer.from(chunk) });
      if (pauses && random() < 0.2) {
        con.pause();
        setImmediate(() => con.resume());
      }
    });
    const ended = within('con: end', con, 'end');
    const child = spawnOnSlave(slave.fd, 'cat', [f.file]);
    slave.close();
    await exitCode(child);
    await con.shutdown();
    await ended;
    await con.close();
    // Checked after other consoles have read on into the same buffers.
    await new Promise((r) => setImmediate(r));
    chunks += kept.length;
    const bad = kept.findIndex((k) => !k.chunk.equals(k.copy));
    if (bad >= 0) {
      changed++;
      t.fail(`run ${run}: chunk ${bad} of ${kept.length} changed after it was pushed`);
    }
    const all = Buffer.concat(kept.map((k) => k.copy));
    if (all.length !== f.size || createHash('sha256').update(all).digest('hex') !== f.sha) {
      wrong++;
      t.fail(`run ${run}: ${all.length} of ${f.size} bytes, or a wrong checksum`);
    }
  });
  t.equal(changed, 0, `${chunks} chunks, none changed after it was pushed`);
  t.equal(wrong, 0, `${RUNS} streams, every byte and checksum`);
  kq.close();
});
