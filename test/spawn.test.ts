// spawn(): real programs on real ptys, with a session and a controlling
// terminal of their own, their exit from the kqueue, reaped by the library.
import { spawn as spawnNode } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import t from 'tap';
import { DEFAULT_TERM, Kqueuer, spawn, type PtyProcess } from '../src/index';
import { Harness } from '../src/harness';
import { systemError } from '../src/errors';
import { fdsBackTo, openFdCount, ptyMastersOpen } from './helpers/fds';
import { settles, waitUntil, within } from './helpers/fixtures';
import { zombies } from './helpers/processes';
import { pool, scaled } from './helpers/scale';

const fixtures = path.join(__dirname, 'fixtures');

/** Everything the program writes, read with for await, and how it ended. */
async function run(p: PtyProcess): Promise<{ out: string; exitCode: number | null; signal: string | null }> {
  let out = '';
  const read = (async () => {
    for await (const chunk of p.console) out += (chunk as Buffer).toString();
  })();
  await settles(`the output of pid ${p.pid} to end`, read);
  const { exitCode, signal } = await settles(`pid ${p.pid} to exit`, p.exited);
  return { out, exitCode, signal };
}

/** Whether `pid` names a process (a zombie included). */
function exists(pid: number): boolean {
  return fs.existsSync(`/proc/${pid}`);
}

t.test('output, then the stream ends by itself with the exit code', async (t) => {
  const r = await run(spawn('sh', ['-c', 'echo hello; echo bye; exit 3']));
  t.equal(r.out, 'hello\r\nbye\r\n', 'every byte, through the pty (ONLCR on)');
  t.same([r.exitCode, r.signal], [3, null], 'the exit code, as child_process reports it');

  const p = spawn('printf', ['one\\ntwo'], { raw: true });
  const chunks: Buffer[] = [];
  await pipeline(
    p.console,
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        chunks.push(chunk);
        cb();
      },
    }),
  );
  t.equal(Buffer.concat(chunks).toString(), 'one\ntwo', 'raw: bytes unchanged; pipeline() ends its destination');
  t.equal(p.exitCode, 0, 'exitCode once exited');
  if (!p.console.closed) await within('the console: close', p.console, 'close');
  t.ok(p.console.destroyed, 'the master is closed once the stream was read to its end');
});

t.test('signals: by the program, by kill(); kill() after the exit is refused', async (t) => {
  const self = await run(spawn('sh', ['-c', 'kill -TERM $$']));
  t.same([self.exitCode, self.signal], [null, 'SIGTERM'], 'a signal ends it: exitCode null, the signal by name');

  const p = spawn('sleep', ['100']);
  t.equal(p.exitCode, null, 'no exit code while it runs');
  t.ok(p.kill('SIGKILL'), 'kill() sends');
  t.same(await settles('sleep to exit', p.exited), { exitCode: null, signal: 'SIGKILL' });
  t.equal(p.signalCode, 'SIGKILL');
  t.notOk(p.kill(), 'reaped: its pid may be another process now, so nothing is sent');
  t.throws(() => p.kill('SIGNOPE' as NodeJS.Signals), { code: 'ERR_UNKNOWN_SIGNAL' });
});

t.test('resize() while it runs; after its console is gone, false and nothing done', async (t) => {
  const p = spawn('sh', ['-c', 'read x; stty size']);
  t.equal(p.resize({ rows: 33, cols: 77 }), true, 'resize() while it runs says true');
  p.console.write('\n');
  const { out } = await run(p);
  t.match(out, /33 77/, 'and the program sees the size');
  await waitUntil('the console to be destroyed', () => p.console.destroyed);
  t.equal(p.resize({ rows: 10, cols: 10 }), false, 'once the console is gone: false, no throw');
  t.throws(() => p.resize({ rows: -1, cols: 10 }), { code: 'ERR_OUT_OF_RANGE' }, 'a bad size still throws');
});

t.test('a session of its own on its pty, which is its controlling terminal', async (t) => {
  // ps(1) hangs with the ASan runtime preloaded (the test:asan run sets
  // LD_PRELOAD for Node), which is nothing of this test's: it runs without.
  const { LD_PRELOAD: _, ...env } = process.env;
  const p = spawn('sh', ['-c', 'tty; ps -o sid=,tty= -p $$'], { env });
  const slave = p.console.name;
  const r = await run(p);
  const [ttyLine, psLine] = r.out.trim().split('\r\n');
  t.equal(ttyLine, slave, 'tty(1) prints the slave');
  const [sid, tty] = psLine.trim().split(/\s+/);
  t.equal(Number(sid), p.pid, 'it leads its session');
  t.equal(`/dev/${tty}`, slave, 'whose controlling terminal is the pty');
});

t.test('job control in bash -i, with no setsid(1) anywhere on the PATH', async (t) => {
  // Only the programs the session needs, so nothing of util-linux is reachable.
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'kqc-bin-'));
  t.teardown(() => fs.rmSync(bin, { recursive: true }));
  for (const tool of ['bash', 'sleep']) {
    const found = ['/usr/bin', '/bin'].map((d) => path.join(d, tool)).find((f) => fs.existsSync(f));
    if (found === undefined) throw new Error(`${tool} is not installed`);
    fs.symlinkSync(found, path.join(bin, tool));
  }
  const h = Harness.spawn('bash', { args: ['--norc', '--noprofile', '-i'], env: { PATH: bin, PS1: 'P> ', HOME: bin } });
  t.teardown(() => h.close());
  await h.expect('P> ');
  await h.send('command -v setsid || echo no-setsid\n');
  await h.expect('no-setsid');
  await h.expect('P> ');

  // The terminal's foreground group is the shell's until it has started the
  // job, and the job ignores ^Z (as the shell does) until it has exec'd
  // sleep: wait for sleep to lead the foreground group.
  const shell = Number((await h.send('echo $$\n'), await h.expect(/(\d+)\r\n/)).groups[1]);
  await h.expect('P> ');
  const sleepInForeground = (): boolean => {
    const stat = fs.readFileSync(`/proc/${shell}/stat`, 'utf8');
    const tpgid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[5]);
    try {
      return tpgid !== shell && fs.readFileSync(`/proc/${tpgid}/comm`, 'utf8').trim() === 'sleep';
    } catch {
      return false;
    }
  };
  await h.send('sleep 100\n');
  await waitUntil('sleep as the foreground job', sleepInForeground);
  await h.send('\x1a');
  await h.expect(/Stopped\s+sleep 100/);
  await h.expect('P> ');
  await h.send('fg\n');
  await h.expect('sleep 100\r\n');
  await waitUntil('sleep in the foreground again', sleepInForeground);
  await h.send('\x03');
  await h.expect('P> ');
  await h.send('echo status=$?\n');
  await h.expect('status=130');
  await h.send('exit\n');
  t.equal(await h.exit(), 0, 'the shell exits');
  t.notMatch(h.transcript(), /no job control|cannot set terminal process group/, 'bash found a controlling terminal');
});

t.test('the environment: TERM by default, PATH from the env given', async (t) => {
  const { PATH } = process.env;
  t.equal((await run(spawn('sh', ['-c', 'echo $TERM'], { env: { PATH } }))).out, `${DEFAULT_TERM}\r\n`, 'TERM when the env has none');
  t.equal((await run(spawn('sh', ['-c', 'echo $TERM'], { env: { PATH, TERM: 'dumb' } }))).out, 'dumb\r\n', "the env's own TERM");
  t.throws(() => spawn('sh', [], { env: { PATH: '/nonexistent' } }), { code: 'ENOENT' }, "the env's PATH is searched");
  const cwd = fs.realpathSync(os.tmpdir());
  t.equal((await run(spawn('pwd', [], { cwd }))).out, `${cwd}\r\n`, 'cwd');
  t.equal((await run(spawn('stty', ['size'], { rows: 30, cols: 100 }))).out, '30 100\r\n', 'the window size, set before it runs');
});

t.test('a file with no "#!" line runs under /bin/sh, as execvp runs it', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kqc-spawn-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true }));
  const script = path.join(dir, 'no-shebang');
  fs.writeFileSync(script, 'echo "from the script: $0 $1 $2"\nexit 4\n', { mode: 0o755 });
  const r = await run(spawn(script, ['one', 'two']));
  t.equal(r.out, `from the script: ${script} one two\r\n`, 'the shell ran it, with its own path as $0 and the arguments after');
  t.equal(r.exitCode, 4, "and its exit code is the script's");
});

t.test('an errno libuv has no name for still gets its name as the code', async (t) => {
  const err = systemError(os.constants.errno.ENOEXEC, 'execve');
  t.equal(err.code, 'ENOEXEC', 'ENOEXEC, not "Unknown system error"');
  t.equal(err.message, 'execve ENOEXEC');
  t.equal(systemError(os.constants.errno.EAGAIN, 'read').code, 'EAGAIN', "libuv's own names are kept");
});

t.test('failures to start are thrown at once, as child_process reports them', async (t) => {
  const baseline = openFdCount();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kqc-spawn-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true }));
  const plain = path.join(dir, 'not-executable');
  fs.writeFileSync(plain, '#!/bin/sh\n', { mode: 0o644 });

  t.throws(() => spawn('no-such-program', ['a']), {
    code: 'ENOENT',
    errno: -os.constants.errno.ENOENT,
    syscall: 'spawn no-such-program',
    path: 'no-such-program',
    spawnargs: ['a'],
    message: 'spawn no-such-program ENOENT',
  });
  t.throws(() => spawn(plain), { code: 'EACCES', syscall: `spawn ${plain}`, path: plain });
  t.throws(() => spawn(path.join(plain, 'x')), { code: 'ENOTDIR' });
  t.throws(() => spawn('sh', [], { cwd: path.join(dir, 'missing') }), {
    code: 'ENOENT',
    syscall: 'chdir',
    path: path.join(dir, 'missing'),
    message: /cannot enter the cwd/,
  });
  t.same(zombies(), [], 'the failed children were reaped');
  fdsBackTo(t, baseline, 'no fd left behind by the failures');
});

t.test('bad arguments get stable codes', async (t) => {
  t.throws(() => spawn(42 as never), { code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => spawn(''), { code: 'ERR_INVALID_ARG_VALUE' });
  t.throws(() => spawn('sh', 'x' as never), { code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => spawn('sh', ['a\u0000b']), { code: 'ERR_INVALID_ARG_VALUE' });
  t.throws(() => spawn('sh', [], null as never), { code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => spawn('sh', [], { env: 'x' as never }), { code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => spawn('sh', [], { rows: 0 }), { code: 'ERR_OUT_OF_RANGE' });
  t.throws(() => spawn('sh', [], { raw: 'yes' as never }), { code: 'ERR_INVALID_ARG_TYPE' });
  t.throws(() => spawn('sh', [], { kqueuer: {} as never }), { code: 'ERR_INVALID_ARG_TYPE' });
  const kq = new Kqueuer();
  kq.close();
  t.throws(() => spawn('sh', [], { kqueuer: kq }), { code: 'ERR_KQUEUER_CLOSED' });
});

t.test("the child's fds and signals: 0-2 only, nothing blocked or ignored", async (t) => {
  // The fixture has an fd 3 without close-on-exec (its stdio from here), and
  // ignores SIGPIPE as every Node process does.
  const child = spawnNode(process.execPath, [path.join(fixtures, 'spawn-inherit.js')], { stdio: ['ignore', 'pipe', 'inherit', 'pipe'] });
  let json = '';
  child.stdout!.on('data', (b: Buffer) => (json += b.toString()));
  const [code] = await within<[number]>('the fixture: close', child, 'close', 30_000);
  t.equal(code, 0, 'the fixture ran');
  const seen = JSON.parse(json) as { parentFds: string[]; childFds: string[]; sigBlk: string; sigIgn: string; parentSigIgn: string };
  t.ok(seen.parentFds.includes('3'), 'the parent has an inheritable fd 3');
  t.not(seen.parentSigIgn, '0000000000000000', 'and ignores a signal');
  t.same(seen.childFds, ['0', '1', '2'], 'the program has fds 0-2 and nothing else');
  t.equal(seen.sigBlk, '0000000000000000', 'no signal blocked');
  t.equal(seen.sigIgn, '0000000000000000', 'no signal ignored');
});

t.test('a console nobody reads does not hold its pty once its program has exited', async (t) => {
  // The shared Kqueuer's kqueue is opened by the first spawn(): open it first.
  await spawn('true').exited;
  const fds = openFdCount();
  const ptys = ptyMastersOpen();
  for (let i = 0; i < 200; i++) await settles(`spawn ${i}: exited`, spawn('true').exited);
  t.equal(ptyMastersOpen(), ptys, `200 unread consoles of exited programs: pty masters held ${ptys} -> ${ptyMastersOpen()}`);
  fdsBackTo(t, fds, 'and no fd of theirs is left open');

  // What the program wrote stays in the stream, read after the master closed.
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  const data = Buffer.from(Array.from({ length: 6000 }, (_, i) => alphabet[(i * 7) % alphabet.length]).join(''));
  const p = spawn('printf', ['%s', data.toString()], { raw: true });
  await settles('the program: exited', p.exited);
  t.ok(p.console.console?.isClosed, 'its master is closed at the exit, unread');
  const errors: Error[] = [];
  p.console.on('error', (err) => errors.push(err));
  t.equal(p.resize({ rows: 30, cols: 100 }), false, 'resize() then says there is nothing to resize');
  t.throws(() => p.console.setRaw(), { code: 'ERR_CONSOLE_CLOSED' }, 'a console operation: ERR_CONSOLE_CLOSED');
  const written = await new Promise<Error | null | undefined>((resolve) => p.console.write('late', resolve));
  t.match(written, { code: 'ERR_CONSOLE_SHUTDOWN', bytesNotWritten: 4 }, 'a write fails through its callback, whole');
  const chunks: Buffer[] = [];
  for await (const chunk of p.console) chunks.push(chunk as Buffer);
  t.ok(Buffer.concat(chunks).equals(data), `every byte is read afterwards (${Buffer.concat(chunks).length} of ${data.length})`);
  t.same(errors, [], "and nothing surfaced as 'error'");
});

t.test('200 spawns at once, each with its own output and exit code', async (t) => {
  const baseline = openFdCount();
  const count = 200;
  const results = await Promise.all(Array.from({ length: count }, (_, i) => run(spawn('sh', ['-c', `echo run-${i}; exit ${i % 100}`]))));
  const wrong = results.filter((r, i) => r.out !== `run-${i}\r\n` || r.exitCode !== i % 100);
  t.equal(wrong.length, 0, `${count} runs: output and exit code each right`);
  t.same(zombies(), [], 'no zombie');
  fdsBackTo(t, baseline, 'no fd left: ptys and process watches all closed');
});

t.test(`no zombie after ${scaled(1000)} spawns`, async (t) => {
  let bad = 0;
  await pool(scaled(1000), 8, async () => {
    const p = spawn('true');
    p.console.resume();
    const { exitCode } = await settles(`pid ${p.pid} to exit`, p.exited);
    if (exitCode !== 0) bad++;
  });
  t.equal(bad, 0, 'every run exited 0');
  t.same(zombies(), [], 'none left a zombie');
});

t.test('writes after the exit fail through their callbacks, never as error', async (t) => {
  const p = spawn('true');
  p.console.on('error', (err) => t.fail(`'error': ${err.message}`));
  p.console.resume();
  await settles(`pid ${p.pid} to exit`, p.exited);
  const err = await new Promise<Error | null | undefined>((resolve) => p.console.write('late\n', resolve));
  t.match(err, { code: /^ERR_(CONSOLE_SHUTDOWN|STREAM_DESTROYED)$/ }, 'the write failed, through its callback');
});

t.test('a background job that outlives the program does not hold the stream open', async (t) => {
  // It ignores the hang-up the session's end sends, and keeps the slave open.
  const p = spawn('sh', ['-c', "(trap '' HUP; exec sleep 100) & echo job=$!; echo leader-done"]);
  const r = await run(p);
  t.match(r.out, /job=(\d+)\r\nleader-done\r\n$/, 'the stream ends with all the leader wrote');
  t.same([r.exitCode, r.signal], [0, null]);
  const job = Number(/job=(\d+)/.exec(r.out)![1]);
  t.ok(exists(job), 'the job runs on, outside the stream');
  process.kill(job, 'SIGKILL');
});

t.test('the console closed first: the terminal hangs up, the program exits and is reaped', async (t) => {
  const p = spawn('sleep', ['100']);
  p.console.destroy();
  t.same(
    await settles('the program to exit', p.exited),
    { exitCode: null, signal: 'SIGHUP' },
    'the hang-up of its controlling terminal ended it',
  );
  t.same(zombies(), [], 'reaped');
});

t.test('the Kqueuer closed first: exited rejects, the orphan is still reaped', async (t) => {
  const kq = new Kqueuer();
  // Its console goes with the Kqueuer, and the hang-up would end a program
  // that did not ignore it.
  const p = spawn('sh', ['-c', "trap '' HUP; echo ready; exec sleep 100"], { kqueuer: kq });
  for await (const chunk of p.console) if ((chunk as Buffer).includes('ready')) break;
  kq.close();
  await t.rejects(settles('exited to settle once the Kqueuer closed', p.exited), { code: 'ERR_KQUEUER_CLOSED' });
  t.notOk(p.kill(), 'its watch is gone: kill() no longer sends');
  t.ok(exists(p.pid), 'the program ignored the hang-up and runs on');
  process.kill(p.pid, 'SIGKILL');
  await waitUntil(`pid ${p.pid} reaped by the orphans' reaper`, () => !exists(p.pid));
  t.same(zombies(), [], 'no zombie');
});

t.test('a spawn() from a Worker; a Worker terminated with its program running', async (t) => {
  const index = JSON.stringify(path.join(__dirname, '..', 'dist', 'index.js'));
  const worker = new Worker(
    `
    const { parentPort } = require('node:worker_threads');
    const { spawn } = require(${index});
    (async () => {
      const p = spawn('sh', ['-c', 'echo from a worker; exit 7']);
      let out = '';
      for await (const c of p.console) out += c;
      const done = await p.exited;
      const sleeper = spawn('sh', ['-c', "trap '' HUP; echo ready; exec sleep 100"]);
      for await (const c of sleeper.console) if (String(c).includes('ready')) break;
      parentPort.postMessage({ out, done, sleeper: sleeper.pid });
    })();
    `,
    { eval: true },
  );
  const [msg] = await within<[{ out: string; done: object; sleeper: number }]>('the worker: message', worker, 'message', 60_000);
  t.equal(msg.out, 'from a worker\r\n', "the worker's program's output");
  t.same(msg.done, { exitCode: 7, signal: null }, 'and its exit code');
  await worker.terminate();
  t.ok(exists(msg.sleeper), 'the program (which ignores the hang-up) outlives the worker');
  process.kill(msg.sleeper, 'SIGKILL');
  await waitUntil(`pid ${msg.sleeper} reaped after its worker was gone`, () => !exists(msg.sleeper));
  t.same(zombies(), [], 'no zombie');
});

t.test("a Worker's orphans are reaped when only Workers load the library", async (t) => {
  const fixture = path.join(__dirname, 'fixtures', 'workers-own-the-addon.ts');
  for (const mode of ['terminate', 'exit']) {
    // With the runner's own TypeScript loader (none under Bun, which runs .ts itself).
    const child = spawnNode(process.execPath, [...process.execArgv, fixture, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
    const [code] = await within(`the fixture (${mode}): close`, child, 'close', 60_000);
    t.equal(code, 0, `the fixture ran (${mode})`);
    const { spawned, zombies: left } = JSON.parse(out) as { spawned: number; zombies: number[] };
    t.equal(spawned, 10, `10 Workers each spawned a program, then ${mode === 'exit' ? 'called process.exit()' : 'were terminated'}`);
    t.same(left, [], 'and every program was reaped: no zombie');
  }
});

t.test('a running program keeps the process alive, unless unref()d', async (t) => {
  for (const mode of ['ref', 'unref']) {
    const child = spawnNode(process.execPath, [path.join(fixtures, 'spawn-ref.js'), mode], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    const [code] = await within<[number]>(`the ${mode} fixture: close`, child, 'close', 30_000);
    t.equal(code, 0, `${mode}: the fixture ran`);
    const [pidLine, ...rest] = out.trim().split('\n');
    const pid = Number(pidLine);
    if (mode === 'ref') {
      t.same(rest, ['exited 0'], 'ref: the process lived until the program exited');
    } else {
      t.same(rest, [], 'unref: the process exited while the program ran');
      t.ok(exists(pid), 'and the program still runs');
      process.kill(pid, 'SIGKILL');
    }
  }
});
