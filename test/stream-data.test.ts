// Bytes through KqueueConsole on real ptys with real children: exact bytes
// and no tail loss.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import t from 'tap';
import { Kqueuer, openPty } from '../src/index';
import { dataUntil, exitCode, outputOf, spawnOnSlave } from './helpers/pty';

t.test('16 MiB of random bytes through cat in raw mode, written and read at once', async (t) => {
  const kq = new Kqueuer();
  const { master, slave } = openPty();
  slave.setRaw();
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
  await dataUntil(con, () => got >= size);
  t.equal(got, size, 'every byte came back');
  t.equal(hash.digest('hex'), createHash('sha256').update(payload).digest('hex'), 'sha256 matches');

  child.kill();
  await exitCode(child);
  await con.shutdown();
  await con.close();
  kq.close();
});

t.test('no tail loss: a child writes 4 MiB and exits at once, 100 times', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kqc-tail-'));
  const file = path.join(dir, 'payload');
  const payload = randomBytes(4 * 1024 * 1024);
  fs.writeFileSync(file, payload);
  const want = createHash('sha256').update(payload).digest('hex');
  const kq = new Kqueuer();
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
