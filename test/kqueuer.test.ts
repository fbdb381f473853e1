// Kqueuer lifecycle: wait(), keeping the process alive only while a console
// waits for data, unref(), and close() with consoles still added.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { binding } from '../src/addon/binding';
import { isOpen, noFdOpenedSince, openFdLinks, openFifo } from './helpers/fds';
import { kqueuerFor, ptyFor, waitUntil, within } from './helpers/fixtures';

async function lifecycle(mode: string): Promise<{ code: number | null; stdout: string }> {
  const child = spawn(process.execPath, [...process.execArgv, path.join(__dirname, 'fixtures', 'lifecycle.ts'), mode], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  const [code] = await within('child: close', child, 'close', 120_000);
  return { code: code as number | null, stdout };
}

t.test('the process lives while a consumer waits for data, and only then', async (t) => {
  t.same(await lifecycle('idle'), { code: 0, stdout: 'exit:idle\n' }, 'a console nobody reads does not hold the process');
  t.same(await lifecycle('reading'), { code: 0, stdout: 'data:late\nexit:reading\n' }, 'a waiting consumer does, until its data comes');
  t.same(await lifecycle('unref'), { code: 0, stdout: 'exit:unref\n' }, "unless the Kqueuer is unref'd");
});

t.test('wait() resolves on close(); close() destroys what is still added', async (t) => {
  const before = openFdLinks(); // By identity: Bun may close an fd of its own meanwhile.
  const kq = kqueuerFor(t);
  t.ok(kq.fd >= 0, 'fd is the kqueue');
  const waiting = kq.wait();
  const { master, slave } = ptyFor(t);
  const con = kq.add(master);
  con.resume();
  let writeErr: NodeJS.ErrnoException | null | undefined;
  slave.setRaw({ opost: false });
  con.write(Buffer.alloc(1 << 20), (err) => (writeErr = err));
  const closed = within('con: close', con, 'close', 120_000);
  kq.close();
  await waiting;
  t.ok(kq.closed, 'closed');
  t.equal(kq.fd, -1, 'fd is -1');
  await closed;
  t.ok(con.destroyed, 'the console was destroyed');
  t.equal(writeErr?.code, 'ERR_STREAM_DESTROYED', 'its pending write failed');
  t.notOk(isOpen(master.fd), 'and the master it owned was closed');
  slave.close();
  noFdOpenedSince(t, before, 'no fd leaked');
});

t.test('a listener that throws does not cost the other consoles of its batch their event', async (t) => {
  const kq = kqueuerFor(t);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kqc-kqueuer-'));
  // FIFOs opened read-write: one fd is both ends, and a write is readable at once.
  const fifos = [openFifo(dir), openFifo(dir)];
  const calls = [0, 0];
  let armed = false;
  const cons = fifos.map((fd, i) => {
    const con = kq.add(fd);
    con.on('data', () => {
      calls[i]++;
      if (armed) throw new Error(`listener ${i}`);
    });
    return con;
  });
  // Both read to EAGAIN first, then wait for an edge.
  for (const fd of fifos) fs.writeSync(fd, 'a');
  await waitUntil('both consoles to read their first byte', () => calls[0] > 0 && calls[1] > 0);
  // Both pipes readable, then one batch with both events, delivered before
  // the loop could poll (pipe writes are there at once).
  for (const fd of fifos) fs.writeSync(fd, 'b');
  armed = true;
  const { READABLE } = binding().bits;
  const ids = fifos.map((fd) => (kq as unknown as { byFd: Map<number, { id: number }> }).byFd.get(fd)!.id);
  const dispatch = (kq as unknown as { dispatch(b: Float64Array, n: number, e: number): void }).dispatch.bind(kq);
  t.throws(
    () => dispatch(Float64Array.of(ids[0], READABLE, ids[1], READABLE), 2, 0),
    { message: 'listener 0' },
    "the first listener's error is thrown",
  );
  t.same(calls, [2, 2], 'and the second console read its bytes all the same');
  armed = false;
  for (const con of cons) await con.close();
  for (const fd of fifos) fs.closeSync(fd);
  fs.rmSync(dir, { recursive: true });
});
