// The onread option: reads into memory the caller provides, handed to a
// callback instead of the stream, on real ptys with real children.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { Kqueuer, type OnRead } from '../src/index';
import { SYS_WRITE, blockedSyscall, exitCode, spawnOnSlave } from './helpers/pty';
import { kqueuerFor, ptyFor, settles, waitUntil, within } from './helpers/fixtures';

/** Runs `cmd` on a raw pty with `onread` until the stream ends; resolves with the number of 'data' events. */
async function runWith(kq: Kqueuer, onread: OnRead, cmd: string, args: string[]): Promise<number> {
  const { master, slave } = ptyFor(t);
  slave.setRaw({ opost: false });
  const con = kq.add(master, { onread });
  let dataEvents = 0;
  con.on('data', () => dataEvents++);
  const ended = within('con: end', con, 'end');
  const child = spawnOnSlave(slave.fd, cmd, args);
  slave.close();
  await exitCode(child);
  await con.shutdown();
  await ended;
  await con.close();
  return dataEvents;
}

function payloadFile(size: number): { file: string; payload: Buffer; done: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kqc-onread-'));
  const file = path.join(dir, 'payload');
  const payload = randomBytes(size);
  fs.writeFileSync(file, payload);
  return { file, payload, done: () => fs.rmSync(dir, { recursive: true }) };
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

t.test('every byte, in order, through one reused buffer, 50 fast exits', async (t) => {
  const { file, payload, done } = payloadFile(1024 * 1024);
  const kq = kqueuerFor(t);
  const buffer = Buffer.alloc(64 * 1024);
  let failures = 0;
  for (let run = 0; run < 50; run++) {
    const hash = createHash('sha256');
    let bytes = 0;
    let otherBuffer = false;
    const dataEvents = await runWith(
      kq,
      {
        buffer,
        callback(n, buf) {
          if (buf !== buffer) otherBuffer = true;
          hash.update(buf.subarray(0, n));
          bytes += n;
        },
      },
      'cat',
      [file],
    );
    if (bytes !== payload.length || hash.digest('hex') !== sha(payload) || otherBuffer || dataEvents !== 0) {
      failures++;
      t.fail(`run ${run}: ${bytes} of ${payload.length} bytes, a wrong checksum, another buffer, or 'data' events (${dataEvents})`);
    }
  }
  t.equal(failures, 0, 'all 50 runs: every byte, the right checksum, always the given buffer, no data event');
  kq.close();
  done();
});

t.test('a buffer function gives a fresh buffer for each read that got bytes, and they can be kept', async (t) => {
  const { file, payload, done } = payloadFile(2 * 1024 * 1024);
  const kq = kqueuerFor(t);
  const kept: Buffer[] = [];
  let asked = 0;
  await runWith(
    kq,
    {
      buffer: () => {
        asked++;
        return Buffer.allocUnsafe(16 * 1024);
      },
      callback: (n, buf) => {
        kept.push((buf as Buffer).subarray(0, n));
      },
    },
    'cat',
    [file],
  );
  const got = Buffer.concat(kept);
  t.equal(got.length, payload.length, 'every byte');
  t.ok(got.equals(payload), 'in order: no buffer was read into twice');
  t.ok(
    asked - kept.length <= 1 && asked >= kept.length,
    `a buffer is asked for once the last was handed over (${asked} for ${kept.length} callbacks)`,
  );
  kq.close();
  done();
});

t.test('returning false pauses reading, resume() goes on, and never inside the call', async (t) => {
  const kq = kqueuerFor(t);
  const { master, slave } = ptyFor(t);
  slave.setRaw({ opost: false });
  const size = 4 * 1024 * 1024;
  let bytes = 0;
  let calls = 0;
  let paused = true;
  const con = kq.add(master, {
    onread: {
      buffer: Buffer.alloc(4096),
      callback(n) {
        calls++;
        bytes += n;
        return !paused;
      },
    },
  });
  const ended = within('con: end', con, 'end');
  const child = spawnOnSlave(slave.fd, 'head', ['-c', String(size), '/dev/zero']);
  slave.close();
  await waitUntil('one callback, then the child is blocked in write()', () => calls === 1 && blockedSyscall(child.pid!) === SYS_WRITE);
  t.pass('one callback, then the child is blocked in write()');
  t.equal(calls, 1, 'no read after the callback said false');
  paused = false;
  con.resume();
  t.equal(calls, 1, 'resume() did not call back from inside itself');
  await exitCode(child);
  await con.shutdown();
  await ended;
  t.equal(bytes, size, 'every byte once resumed');
  await con.close();
});

t.test('pause() stops reading too; shutdown delivers what the fd holds whatever the callback says', async (t) => {
  const kq = kqueuerFor(t);
  const { master, slave } = ptyFor(t);
  slave.setRaw({ opost: false });
  let bytes = 0;
  const con = kq.add(master, { onread: { buffer: Buffer.alloc(1024), callback: (n) => void (bytes += n) } });
  con.pause();
  const child = spawnOnSlave(slave.fd, 'head', ['-c', '10000', '/dev/zero']);
  slave.close();
  t.equal(await exitCode(child), 0, 'the child wrote 10,000 bytes (they fit the pty) and exited');
  t.equal(bytes, 0, 'nothing was read while paused');
  const ended = within('con: end', con, 'end');
  await con.shutdown();
  await ended;
  t.equal(bytes, 10000, 'the drain at shutdown delivered all of it');
  await con.close();

  // A hang-up while reading is reported as it is on the stream.
  const pty = ptyFor(t);
  let got = 0;
  const con2 = kq.add(pty.master, { onread: { buffer: Buffer.alloc(1024), callback: (n) => void (got += n) } });
  const hung = within('con2: hangup', con2, 'hangup');
  fs.writeSync(pty.slave.fd, 'bye\n');
  pty.slave.close();
  await hung;
  t.equal(got, 5, "the bytes before the hang-up, then 'hangup'");
  t.ok(con2.hungUp, 'hungUp');
  await con2.shutdown();
  await con2.close();
});

t.test('a buffer function that returns no buffer destroys the stream with a code, leaving a borrowed fd open', async (t) => {
  const kq = kqueuerFor(t);
  const { master, slave } = ptyFor(t);
  const con = kq.add(master.fd, { onread: { buffer: () => Buffer.alloc(0), callback: () => {} } });
  const closed = new Promise((resolve) => con.on('close', resolve));
  fs.writeSync(slave.fd, 'x\n');
  const [err] = (await within('con: error', con, 'error')) as [NodeJS.ErrnoException];
  t.equal(err.code, 'ERR_INVALID_RETURN_VALUE');
  await settles("the console's 'close'", closed);
  t.doesNotThrow(() => fs.fstatSync(master.fd), 'the fd it was given is still open');
});
