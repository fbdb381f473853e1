// Hang-up storms: a slave opened, written and closed 10,000 times while the
// master is read. No 'end', no 'error', no byte lost of those written while
// it was open, and the CPU per hang-up bounded.
import { spawn } from 'node:child_process';
import t from 'tap';
import { Kqueuer, openPty } from '../../src/index';
import { cpuMs } from '../helpers/fds';
import { collect } from '../helpers/pty';
import { scaled } from '../helpers/scale';
import { waitUntil, within } from '../helpers/fixtures';

const CYCLES = scaled(10_000);

t.test(`a slave opened and closed ${CYCLES} times while the master is read`, async (t) => {
  const kq = new Kqueuer();
  const { master, slave, slavePath } = openPty();
  master.setRaw({ opost: false }); // The pty's mode is kept while the master is open.
  slave.close();
  const con = kq.add(master);
  const out = collect(con);
  let ended = false;
  let errored: Error | null = null;
  let hangups = 0;
  con.on('end', () => (ended = true));
  con.on('error', (err) => (errored = err));
  con.on('hangup', () => hangups++);

  const cpuBefore = cpuMs();
  const child = spawn(
    process.execPath,
    [
      '-e',
      `const fs = require('fs');
       for (let i = 0; i < ${CYCLES}; i++) {
         const fd = fs.openSync(${JSON.stringify(slavePath)}, fs.constants.O_RDWR | fs.constants.O_NOCTTY);
         fs.writeSync(fd, i + '\\n');
         fs.closeSync(fd);
       }`,
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const [code] = await within('child: exit', child, 'exit', 120_000);
  t.equal(code, 0, 'the child opened, wrote and closed the slave every time');
  const want = Array.from({ length: CYCLES }, (_, i) => `${i}\n`).join('');
  await waitUntil('out.bytes() >= want.length', () => out.bytes() >= want.length, { on: con });
  const cpu = cpuMs() - cpuBefore;
  t.equal(out.text(), want, `every line of ${CYCLES}, in order`);
  t.notOk(ended, "no 'end'");
  t.equal(errored, null, "no 'error'");
  t.ok(hangups >= 1, `${hangups} hang-ups were seen as hang-ups`);
  t.ok(cpu / CYCLES < 1, `${(cpu / CYCLES).toFixed(3)} ms of CPU per open/write/close cycle in the reader`);
  await con.shutdown();
  await con.close();
  kq.close();
});
