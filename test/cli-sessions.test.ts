// The `kqueue-console` command, driven as a person would, through the
// package's own harness: serve on a Unix socket, attach, detach with the
// key, attach again to the same screen; list; a viewer sees the writer's
// typing and cannot type; the linger ends the session and its jobs.
import { spawn as spawnChild, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { Harness, type Screen } from '../src/harness';
import { sessionMembers } from './helpers/processes';
import { settles, waitUntil } from './helpers/wait';

const CLI = path.join(__dirname, '..', 'dist', 'cli', 'kqueue-console.js');
const SHELL = ['bash', '--norc', '--noprofile', '-i'];
const ENV = { PATH: process.env.PATH, HOME: os.tmpdir(), TERM: 'xterm-256color', LANG: 'C.UTF-8', PS1: '$ ' };

/** The prompt at the end of the screen, ready for a command. */
const PROMPT = (s: Screen): boolean => s.text.trimEnd().endsWith('$');

interface Served {
  socket: string;
  log: () => string;
}

/** `kqueue-console serve` in a directory of its own; stopped (SIGTERM) and awaited by the teardown. */
async function serve(t: Test, ...flags: string[]): Promise<Served> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kqc-cli-'));
  const socket = path.join(dir, 's.sock');
  const child: ChildProcess = spawnChild(process.execPath, [CLI, 'serve', '--unix', socket, ...flags, '--', ...SHELL], {
    env: ENV,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d));
  child.stderr!.on('data', (d: Buffer) => (log += d));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await settles('the server to exit on SIGTERM', once(child, 'exit'));
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await waitUntil(`the server to listen (log: ${log})`, () => log.includes('serving'), { on: child.stdout!, ms: 20_000 });
  return { socket, log: () => log };
}

function attach(t: Test, served: Served, ...flags: string[]): Harness {
  return Harness.spawn(process.execPath, {
    args: [CLI, 'attach', '--unix', served.socket, ...flags],
    env: ENV,
    test: t,
  });
}

async function list(served: Served): Promise<{ name: string; id: string; writer: boolean; viewers: number; pid: number }[]> {
  const child = spawnChild(process.execPath, [CLI, 'list', '--unix', served.socket, '--json'], { env: ENV });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  const [code] = await settles('list to exit', once(child, 'exit'));
  if (code !== 0) throw new Error(`list exited ${code}`);
  return JSON.parse(out);
}

/** Waits until `list` says what `check` wants. */
async function listUntil(what: string, served: Served, check: (l: Awaited<ReturnType<typeof list>>) => boolean): Promise<void> {
  let last: Awaited<ReturnType<typeof list>> = [];
  for (const end = Date.now() + 15_000; Date.now() < end;) {
    last = await list(served);
    if (check(last)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not happen in 15000 ms (list: ${JSON.stringify(last)})`);
}

t.test('attach, detach with the key, attach again: the same screen; list shows it', async (t) => {
  const served = await serve(t, '--linger', '10m');
  const first = attach(t, served);
  await first.waitFor(PROMPT);
  await first.type('echo hello-$((6*7))\r');
  const before = await first.waitFor((s) => s.text.includes('hello-42') && s.text.trimEnd().endsWith('$'));
  await listUntil('list to show one session with its writer', served, (l) => l.length === 1 && l[0].writer);
  await first.send('\x1c');
  await first.expect('[detached from session');
  t.equal(await first.exit(), 0, 'attach exits 0 on detach');
  const [session] = await list(served);
  t.equal(session.writer, false, 'the session lingers with no writer');
  t.ok(sessionMembers(session.pid).length > 0, 'and its shell runs on');

  const second = attach(t, served);
  const after = await second.waitFor((s) => s.text.includes('hello-42'));
  t.same(after.lines.slice(0, 3), before.lines.slice(0, 3), 'the screen is restored');
  t.same(after.cursor, before.cursor, 'and the cursor');
  await second.type('echo again-$((1+1))\r');
  await second.waitFor(/again-2/);
  await second.send('\x1c');
  t.equal(await second.exit(), 0);
});

t.test('a read-only viewer sees the writer typing and cannot type', async (t) => {
  const served = await serve(t);
  const writer = attach(t, served, '--session', 'shared');
  await writer.waitFor(PROMPT);
  const viewer = attach(t, served, '--session', 'shared', '--read-only');
  await viewer.waitFor(PROMPT);
  await listUntil('the viewer to be attached', served, (l) => l.length === 1 && l[0].viewers === 1);
  await writer.type('echo from-writer-$((2*3))\r');
  await viewer.waitFor(/from-writer-6/);
  await viewer.type('echo from-viewer-$((3*3))\r');
  // The viewer's keys, had they been taken, would reach the shell before the writer's marker.
  await writer.type('echo marker-$((4*4))\r');
  await viewer.waitFor(/marker-16/);
  t.notMatch(writer.transcript(), /from-viewer/, "the viewer's input never reached the program");
  t.notMatch(viewer.screen().text, /from-viewer-9/, 'nor ran');
  await viewer.send('\x1c');
  await writer.send('\x1c');
  t.equal(await viewer.exit(), 0);
  t.equal(await writer.exit(), 0);
});

t.test('the linger runs out: the session ends, and its jobs that ignore SIGHUP', async (t) => {
  const served = await serve(t, '--linger', '1s');
  const h = attach(t, served);
  await h.waitFor(PROMPT);
  await h.type('nohup sleep 997 >/dev/null 2>&1 & sh -c \'trap "" HUP; sleep 996\' & echo started-$((5*5))\r');
  await h.waitFor(/started-25/);
  const [session] = await list(served);
  const sleeping = (): boolean => sessionMembers(session.pid).some((pid) => fs.readFileSync(`/proc/${pid}/comm`, 'utf8') === 'sleep\n');
  await waitUntil('the jobs to start', sleeping);
  await h.send('\x1c');
  t.equal(await h.exit(), 0);
  await listUntil('the session to end once its linger ran out', served, (l) => l.length === 0);
  await waitUntil('every process of the session to be gone', () => sessionMembers(session.pid).length === 0, { ms: 15_000 });
  t.match(served.log(), /session \S+ ended/, 'the server logged the end');
});

t.test('bad arguments: a usage error, exit 2', async (t) => {
  for (const args of [
    ['frobnicate'],
    ['attach', '--port', 'x'],
    ['serve', '--linger', 'soon'],
    ['attach', '--token', 'secret'],
    ['attach', '--detach-key', '^^^'],
  ]) {
    const child = spawnChild(process.execPath, [CLI, ...args], { env: ENV });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d));
    const [code] = await settles(`${args.join(' ')} to exit`, once(child, 'exit'));
    t.equal(code, 2, `${args.join(' ')}: exit 2`);
    t.match(err, /^kqueue-console: .+\nusage:/, `${args.join(' ')}: says why, then the usage`);
  }
});

t.test('attach to a server that is not there: a clear error, exit 1', async (t) => {
  const child = spawnChild(process.execPath, [CLI, 'list', '--unix', path.join(os.tmpdir(), 'kqc-nothing-here.sock')], { env: ENV });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d));
  const [code] = await settles('list to exit', once(child, 'exit'));
  t.equal(code, 1);
  t.match(err, /ENOENT/);
});
