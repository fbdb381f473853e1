// Kqueuer lifecycle: wait(), keeping the process alive only while a console
// waits for data, unref(), and close() with consoles still added.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as path from 'node:path';
import t from 'tap';
import { Kqueuer, openPty } from '../src/index';
import { isOpen, openFdCount } from './helpers/fds';

async function lifecycle(mode: string): Promise<{ code: number | null; stdout: string }> {
  const child = spawn(process.execPath, [...process.execArgv, path.join(__dirname, 'fixtures', 'lifecycle.ts'), mode], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  const [code] = await once(child, 'close');
  return { code: code as number | null, stdout };
}

t.test('the process lives while a consumer waits for data, and only then', async (t) => {
  t.same(await lifecycle('idle'), { code: 0, stdout: 'exit:idle\n' }, 'a console nobody reads does not hold the process');
  t.same(await lifecycle('reading'), { code: 0, stdout: 'data:late\nexit:reading\n' }, 'a waiting consumer does, until its data comes');
  t.same(await lifecycle('unref'), { code: 0, stdout: 'exit:unref\n' }, 'unless the Kqueuer is unref\'d');
});

t.test('wait() resolves on close(); close() destroys what is still added', async (t) => {
  const baseline = openFdCount();
  const kq = new Kqueuer();
  t.ok(kq.fd >= 0, 'fd is the kqueue');
  const waiting = kq.wait();
  const { master, slave } = openPty();
  const con = kq.add(master);
  con.resume();
  let writeErr: NodeJS.ErrnoException | null | undefined;
  slave.setRaw();
  con.write(Buffer.alloc(1 << 20), (err) => (writeErr = err));
  const closed = once(con, 'close');
  kq.close();
  await waiting;
  t.ok(kq.closed, 'closed');
  t.equal(kq.fd, -1, 'fd is -1');
  await closed;
  t.ok(con.destroyed, 'the console was destroyed');
  t.equal(writeErr?.code, 'ERR_STREAM_DESTROYED', 'its pending write failed');
  t.notOk(isOpen(master.fd), 'and the master it owned was closed');
  slave.close();
  t.equal(openFdCount(), baseline, 'no fd leaked');
});
