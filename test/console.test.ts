// Console operations on real ptys, and the same through a KqueueConsole.
import { once } from 'node:events';
import t from 'tap';
import { binding } from '../src/binding';
import { Console, Kqueuer, openPty } from '../src/index';
import { collect, dataUntil, exitCode, spawnOnSlave } from './helpers/pty';

t.test('resize then size round-trips; resizeFrom copies', async (t) => {
  const a = openPty();
  const b = openPty();
  a.master.resize({ rows: 40, cols: 132 });
  t.same(a.master.size(), { rows: 40, cols: 132, xpixel: 0, ypixel: 0 });
  t.same(a.slave.size(), { rows: 40, cols: 132, xpixel: 0, ypixel: 0 }, "the slave sees the master's size");
  b.master.resizeFrom(a.master);
  t.same(b.master.size(), a.master.size(), 'resizeFrom copies');

  const kq = new Kqueuer();
  const con = kq.add(b.master);
  con.resize({ rows: 12, cols: 34, xpixel: 5, ypixel: 6 });
  t.same(con.size(), { rows: 12, cols: 34, xpixel: 5, ypixel: 6 }, 'the same through the stream');
  con.resizeFrom(a.slave);
  t.same(con.size(), a.slave.size());
  await con.close();
  kq.close();
  for (const c of [a.master, a.slave, b.slave]) c.close();
});

t.test('setRaw then reset restores the termios byte for byte', async (t) => {
  const native = binding();
  const { master, slave } = openPty();
  const before = native.tcgetattr(slave.fd)!;
  slave.setRaw();
  t.notSame(native.tcgetattr(slave.fd), before, 'raw mode changed it');
  slave.reset();
  t.same(native.tcgetattr(slave.fd), before, 'reset() restored every byte');
  slave.disableEcho();
  slave.reset();
  t.same(native.tcgetattr(slave.fd), before, 'also after disableEcho()');

  const kq = new Kqueuer();
  const con = kq.add(master);
  const masterBefore = native.tcgetattr(master.fd)!;
  con.setRaw();
  con.reset();
  t.same(native.tcgetattr(master.fd), masterBefore, 'the same through the stream');
  await con.close();
  kq.close();
  slave.close();
});

t.test('disableEcho stops echo', async (t) => {
  const transcript = async (echo: boolean): Promise<string> => {
    const kq = new Kqueuer();
    const { master, slave } = openPty();
    if (!echo) slave.disableEcho();
    const con = kq.add(master);
    const out = collect(con);
    const child = spawnOnSlave(slave.fd, 'sh', ['-c', 'read line; printf "got:%s\\n" "$line"']);
    slave.close();
    con.write('hello\n');
    await dataUntil(con, () => out.text().includes('got:hello'));
    await exitCode(child);
    const ended = once(con, 'end');
    await con.shutdown();
    await ended;
    await con.close();
    kq.close();
    return out.text();
  };
  t.equal(await transcript(true), 'hello\r\ngot:hello\r\n', 'with echo, the input comes back');
  t.equal(await transcript(false), 'got:hello\r\n', 'with echo off, only the output');
});

t.test("name is the slave's path; fd is the fd", async (t) => {
  const { master, slave, slavePath } = openPty();
  t.match(slavePath, /^\/dev\/pts\/\d+$/);
  t.equal(master.name, slavePath, "the master's name is its slave's path");
  t.equal(slave.name, slavePath);
  const kq = new Kqueuer();
  const con = kq.add(master);
  t.equal(con.name, slavePath, 'and the stream says the same');
  t.equal(con.fd, master.fd);
  t.equal(con.console, master);
  const byNumber = kq.add(slave.fd);
  t.equal(byNumber.name, slavePath, 'a tty added by fd number gets a Console too');
  t.ok(byNumber.console instanceof Console);
  await byNumber.close();
  await con.close();
  slave.close();
  kq.close();
});
