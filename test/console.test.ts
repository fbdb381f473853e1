// Console operations on real ptys, and the same through a KqueueConsole.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { binding } from '../src/addon/binding';
import { Console, openPty, ptyFromFd } from '../src/index';
import { isOpen } from './helpers/fds';
import { collect, exitCode, outputOf, spawnOnSlave } from './helpers/pty';
import { kqueuerFor, ptyFor, waitUntil, within } from './helpers/fixtures';

t.test('resize then size round-trips; resizeFrom copies', async (t) => {
  const a = ptyFor(t);
  const b = ptyFor(t);
  a.master.resize({ rows: 40, cols: 132 });
  t.same(a.master.size(), { rows: 40, cols: 132, xpixel: 0, ypixel: 0 });
  t.same(a.slave.size(), { rows: 40, cols: 132, xpixel: 0, ypixel: 0 }, "the slave sees the master's size");
  b.master.resizeFrom(a.master);
  t.same(b.master.size(), a.master.size(), 'resizeFrom copies');

  const kq = kqueuerFor(t);
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
  const { master, slave } = ptyFor(t);
  const before = native.tcgetattr(slave.fd)!;
  slave.setRaw({ opost: false });
  t.notSame(native.tcgetattr(slave.fd), before, 'raw mode changed it');
  slave.reset();
  t.same(native.tcgetattr(slave.fd), before, 'reset() restored every byte');
  slave.disableEcho();
  slave.reset();
  t.same(native.tcgetattr(slave.fd), before, 'also after disableEcho()');

  const kq = kqueuerFor(t);
  const con = kq.add(master);
  const masterBefore = native.tcgetattr(master.fd)!;
  con.setRaw({ opost: false });
  con.reset();
  t.same(native.tcgetattr(master.fd), masterBefore, 'the same through the stream');
  await con.close();
});

t.test('disableEcho stops echo', async (t) => {
  const transcript = async (echo: boolean): Promise<string> => {
    const kq = kqueuerFor(t);
    const { master, slave } = ptyFor(t);
    if (!echo) slave.disableEcho();
    const con = kq.add(master);
    const out = collect(con);
    const child = spawnOnSlave(slave.fd, 'sh', ['-c', 'read line; printf "got:%s\\n" "$line"']);
    slave.close();
    con.write('hello\n');
    await waitUntil("out.text().includes('got:hello')", () => out.text().includes('got:hello'), { on: con });
    await exitCode(child);
    const ended = within('con: end', con, 'end');
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
  const { master, slave, slavePath } = ptyFor(t);
  t.match(slavePath, /^\/dev\/pts\/\d+$/);
  t.equal(master.name, slavePath, "the master's name is its slave's path");
  t.equal(slave.name, slavePath);
  const kq = kqueuerFor(t);
  const con = kq.add(master);
  t.equal(con.name, slavePath, 'and the stream says the same');
  t.equal(con.fd, master.fd);
  t.equal(con.console, master);
  const byNumber = kq.add(slave.fd);
  t.equal(byNumber.name, slavePath, 'a tty added by fd number gets a Console too');
  t.ok(byNumber.console instanceof Console);
  await byNumber.close();
  await con.close();
});

/** The pty's termios as `stty -a` reads it from the slave: every flag, and min/time. */
function sttyFlags(slavePath: string): Map<string, string | boolean> {
  const out = execFileSync('stty', ['-a', '-F', slavePath], { encoding: 'utf8', timeout: 10_000 });
  const flags = new Map<string, string | boolean>();
  for (const m of out.matchAll(/\b(min|time) = (\d+)/g)) flags.set(m[1], m[2]);
  // The flag lines follow the control characters: words, '-' for off.
  const flagText = out.slice(out.lastIndexOf(';') + 1);
  for (const word of flagText.split(/\s+/).filter((w) => /^-?[a-z0-9]+$/.test(w))) {
    flags.set(word.replace(/^-/, ''), !word.startsWith('-'));
  }
  return flags;
}

/** What changed between two stty readings, as stty spells it ('-opost', 'cs8', 'min=1'). */
function changes(before: Map<string, string | boolean>, after: Map<string, string | boolean>): string[] {
  const out: string[] = [];
  for (const [k, v] of after) {
    if (before.get(k) === v) continue;
    out.push(typeof v === 'boolean' ? `${v ? '' : '-'}${k}` : `${k}=${v}`);
  }
  return out.sort();
}

// containerd/console's SetRaw (console_unix.go): cfmakeraw's flags, then
// OPOST again. Its cfmakeraw (tc_unix.go) clears these and sets CS8 (its
// Go copy clears CS8 instead, which cfmakeraw(3) does not; the character
// size means nothing on a pty), VMIN 1, VTIME 0.
// A Linux pty keeps CS8 and no parity whatever it is told (drivers/tty/
// pty.c, pty_set_termios), so those two are checked as values.
const CFMAKERAW_OFF = [
  'ignbrk',
  'brkint',
  'parmrk',
  'istrip',
  'inlcr',
  'igncr',
  'icrnl',
  'ixon',
  'echo',
  'echonl',
  'icanon',
  'isig',
  'iexten',
];

t.test("setRaw() is containerd/console's SetRaw; { opost: false } is cfmakeraw(3)", async (t) => {
  for (const opost of [true, false]) {
    const { master, slave, slavePath } = ptyFor(t);
    // Start from a mode in which every flag cfmakeraw touches is on.
    execFileSync('stty', ['-F', slavePath, 'sane', ...CFMAKERAW_OFF, 'min', '5', 'time', '3'], { timeout: 10_000 });
    const before = sttyFlags(slavePath);
    if (opost) slave.setRaw();
    else slave.setRaw({ opost: false });
    const after = sttyFlags(slavePath);
    const want = [...CFMAKERAW_OFF.map((f) => `-${f}`), 'min=1', 'time=0', ...(opost ? [] : ['-opost'])].sort();
    t.same(changes(before, after), want, `setRaw(${opost ? '' : '{ opost: false }'}): exactly these flags changed`);
    t.ok(after.get('cs8') === true && after.get('parenb') === false, 'CS8, no parity');
    t.equal(after.get('opost'), opost, `OPOST ${opost ? 'set again, as upstream' : 'off'}`);
    t.equal(after.get('onlcr'), before.get('onlcr'), 'ONLCR left as it was');
    slave.close();
    master.close();
  }
});

t.test("setRaw() keeps ONLCR's \\r\\n; clearONLCR() makes \\n arrive as \\n; setONLCR() brings \\r\\n back", async (t) => {
  const kq = kqueuerFor(t);
  const through = async (prepare: (slave: Console) => void): Promise<string> =>
    (await outputOf(kq, 'printf', ['a\\nb\\n'], prepare)).toString();
  t.equal(await through((s) => s.setRaw()), 'a\r\nb\r\n', 'setRaw(): output is still processed');
  t.equal(await through((s) => (s.setRaw(), s.clearONLCR())), 'a\nb\n', 'clearONLCR(): byte-exact');
  t.equal(await through((s) => (s.setRaw({ opost: false }), s.setONLCR())), 'a\nb\n', 'setONLCR() needs OPOST: with it off, bytes pass');
  t.equal(await through((s) => (s.setRaw(), s.clearONLCR(), s.setONLCR())), 'a\r\nb\r\n', 'setONLCR() after clearONLCR()');
  const { master, slave } = ptyFor(t);
  const con = kq.add(master);
  con.clearONLCR();
  t.equal(sttyFlags(slave.name).get('onlcr'), false, 'clearONLCR() through the stream');
  con.setONLCR();
  t.equal(sttyFlags(slave.name).get('onlcr'), true, 'setONLCR() through the stream');
  t.throws(() => slave.setRaw({ opost: 'no' as never }), { code: 'ERR_INVALID_ARG_TYPE' }, 'a bad option is refused');
  await con.close();
});

t.test('ptyFromFd(): a pty from a /dev/ptmx the caller opened (NewPtyFromFile)', async (t) => {
  const fd = fs.openSync('/dev/ptmx', fs.constants.O_RDWR | fs.constants.O_NOCTTY);
  const { master, slavePath } = ptyFromFd(fd);
  t.match(slavePath, /^\/dev\/pts\/\d+$/, 'its slave is named');
  t.equal(master.fd, fd);
  t.equal(master.name, slavePath);
  // Unlocked: the slave opens, and bytes cross.
  const slave = Console.fromFd(fs.openSync(slavePath, fs.constants.O_RDWR | fs.constants.O_NOCTTY), { autoClose: true });
  slave.setRaw({ opost: false });
  const kq = kqueuerFor(t);
  const con = kq.add(master);
  const out = collect(con);
  fs.writeSync(slave.fd, 'through ptmx');
  await waitUntil("out.text() === 'through ptmx'", () => out.text() === 'through ptmx', { on: con });
  t.equal(out.text(), 'through ptmx', 'the slave writes, the master reads');
  await con.close();
  t.ok(isOpen(fd), 'the fd stays the caller’s');
  fs.closeSync(fd);
  slave.close();
  kq.close();
  const other = fs.openSync('/dev/null', 'r');
  t.throws(() => ptyFromFd(other), { code: 'EINVAL', syscall: 'grantpt' }, 'an fd that is not a pty master is refused with the errno');
  fs.closeSync(other);
  t.throws(() => ptyFromFd(-1), { code: 'ERR_OUT_OF_RANGE' });
});

t.test("current() tries stderr, stdout, stdin, upstream's order", async (t) => {
  // A child whose three fds are three different ptys reports which one it got.
  const ptys = [openPty(), openPty(), openPty()];
  const script = `const { current } = require(${JSON.stringify(path.join(__dirname, '..', 'dist', 'index.js'))}); process.send(current().name);`;
  const run = async (stdio: (number | 'ignore')[]): Promise<string> => {
    const child = spawn(process.execPath, ['-e', script], { stdio: [...stdio, 'ipc'] });
    const [name] = (await within('child: message', child, 'message', 120_000)) as [string];
    await exitCode(child);
    return name;
  };
  const [a, b, c] = ptys.map((p) => p.slave.fd);
  t.equal(await run([a, b, c]), ptys[2].slavePath, 'stderr first');
  t.equal(await run([a, b, 'ignore']), ptys[1].slavePath, 'then stdout');
  t.equal(await run([a, 'ignore', 'ignore']), ptys[0].slavePath, 'then stdin');
  for (const p of ptys) {
    p.master.close();
    p.slave.close();
  }
});
