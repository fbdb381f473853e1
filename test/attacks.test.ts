// Attacks on the examples that serve a shell, from loopback: on the web
// terminal by a client that speaks HTTP and WebSocket frames by hand and
// follows no rule it is not made to, and on kqueue-console serve by another user
// of the machine (the token and the Unix socket). Each server runs as its
// own process, as a user starts it, and /proc says what an attack cost it:
// memory, fds, children.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { settles, waitUntil, within } from './helpers/fixtures';
import { memoryFiguresUnreliable } from './helpers/pty';
import { childrenOf, rssOf, startServer } from './helpers/web-server';
import { SessionStream } from '../src/server';
import { connect, frame, login, pipeFrame, request, session, startPipeServer } from './helpers/clients';
import { sessionMembers } from './helpers/processes';

const MiB = 1024 * 1024;

/**
 * Asserts that a server's RSS grew by less than `bound` bytes, or, where
 * RSS does not say what the server holds (ASan), reports the figure as a
 * skip.
 */
function rssGrowthWithin(t: Test, growth: number, bound: number, what: string): void {
  const message = `${what} ${(growth / MiB).toFixed(1)} MiB (bound ${bound / MiB})`;
  const unreliable = memoryFiguresUnreliable();
  if (unreliable) t.pass(message, { skip: unreliable });
  else t.ok(growth < bound, message);
}

function fdCountOf(pid: number): number {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}

t.test('a request line that is no URL gets a 400, and the server lives', async (t) => {
  const server = await startServer((fn) => t.teardown(fn));
  for (const [what, req] of [
    ['GET', request(server.port, '//[')],
    ['an upgrade', request(server.port, '//[', 'Upgrade: websocket\r\nConnection: Upgrade\r\n')],
  ]) {
    const c = await connect(server.port, req);
    await waitUntil(`an answer to ${what} of //[`, () => c.received().includes('\r\n\r\n'), { on: c.socket });
    c.socket.destroy();
    t.match(c.received(), /^HTTP\/1\.1 400 /, `${what} of //[ is answered 400`);
  }
  const page = await connect(server.port, request(server.port, '/', 'Connection: close\r\n'));
  await settles('the page: served and closed', page.closed);
  t.match(page.received(), /^HTTP\/1\.1 200 /, 'and the page is still served');
  t.equal(server.proc.exitCode, null, 'the server is running');
});

t.test('requests dropped in the middle of a file leave no file open', async (t) => {
  const server = await startServer((fn) => t.teardown(fn));
  // xterm.js (hundreds of KiB) is more than the socket buffers take: the file is still being read when the client goes.
  const drop = async (): Promise<void> => {
    const c = await connect(server.port, request(server.port, '/xterm/xterm.js'));
    await waitUntil('the start of xterm.js', () => c.received().includes('\r\n\r\n'), { on: c.socket });
    c.socket.destroy();
  };
  await drop(); // The server's own fds (its modules, the first accept) settle.
  const before = fdCountOf(server.proc.pid!);
  for (let i = 0; i < 20; i++) await drop();
  await waitUntil(`the server's fds back to ${before} after 20 dropped requests`, () => fdCountOf(server.proc.pid!) <= before, {
    ms: 10_000,
  });
  t.pass(`fds back to ${before}`);
  t.equal(server.proc.exitCode, null, 'the server is running');
});

t.test('input past the bound: the server closes, reads no more, and cuts a client that goes on', async (t) => {
  // sleep reads no input: every byte waits in the server.
  const server = await startServer((fn) => t.teardown(fn), ['sleep', '600']);
  const pid = server.proc.pid!;
  const rssBefore = rssOf(pid);
  const fdsBefore = fdCountOf(pid);
  const c = await session(server.port, server.token);
  await waitUntil('the session to start', () => /session 1 started/.test(server.out()));
  const chunk = frame(JSON.stringify({ type: 'input', data: 'x'.repeat(64 * 1024) }));
  let sent = 0;
  let open = true;
  void c.closed.then(() => (open = false));
  // Up to 256 MiB, as fast as the server takes it; the close frame it sends
  // is ignored.
  const started = Date.now();
  while (open && sent < 256 * MiB && Date.now() - started < 60_000) {
    // A reset by the server ends it too ('error', then 'close').
    if (!c.socket.write(chunk))
      await settles(
        'the server: taking input (drain) or closing',
        Promise.race([new Promise((r) => c.socket.once('drain', r)), c.closed]),
        60_000,
      );
    sent += chunk.length;
  }
  t.match(c.received(), /input not read/, 'the server closed with 1009 (input not read)');
  t.notOk(open, `and cut the connection after ${(sent / MiB).toFixed(1)} MiB sent, in ${Date.now() - started} ms`);
  t.ok(sent < 64 * MiB, `the client got no further than 64 MiB (${(sent / MiB).toFixed(1)} MiB)`);
  rssGrowthWithin(t, rssOf(pid) - rssBefore, 64 * MiB, "the server's RSS grew by");
  await waitUntil('the session to end', () => /session 1 ended/.test(server.out()));
  await waitUntil('the server to hold no child and no extra fd', () => childrenOf(pid).length === 0 && fdCountOf(pid) <= fdsBefore, {
    ms: 15_000,
  });
  t.pass(`no child left, fds back to ${fdCountOf(pid)} (before: ${fdsBefore})`);
});

t.test('acknowledgements: a lie closes the session, and a client that does not read costs a bounded amount', async (t) => {
  const server = await startServer((fn) => t.teardown(fn), ['yes']);
  const pid = server.proc.pid!;
  const liar = await session(server.port, server.token);
  await waitUntil('session 1 to start', () => /session 1 started/.test(server.out()));
  liar.socket.write(frame(JSON.stringify({ type: 'ack', bytes: Number.MAX_SAFE_INTEGER })));
  await Promise.race([liar.closed, within('the lie to be answered', liar.socket, 'end', 10_000)]);
  t.match(liar.received(), /acknowledged more than was sent/, 'an ack beyond what was sent closes with 1008');

  // Acknowledges 64 KiB every 5 ms, less than `yes` makes, and reads
  // nothing from its socket: the acks alone would let output pile up in
  // the server, unsent. (Once it has been held back, the acks outrun what
  // was sent, and the session is closed as a liar.)
  const rssBefore = rssOf(pid);
  const stalled = await session(server.port, server.token);
  await waitUntil('session 2 to start', () => /session 2 started/.test(server.out()));
  stalled.socket.pause();
  let peak = 0;
  const until = Date.now() + 2000;
  while (Date.now() < until) {
    stalled.socket.write(frame(JSON.stringify({ type: 'ack', bytes: 64 * 1024 })));
    peak = Math.max(peak, rssOf(pid));
    await new Promise((r) => setTimeout(r, 5));
  }
  // The session's screen (its parser, warmed up, and its scrollback: W11) is part of what it
  // costs (17.7 MiB measured); 2 s of `yes` piling up unsent would be well over 100 MiB.
  rssGrowthWithin(t, peak - rssBefore, 32 * MiB, "the server's RSS peaked above where it was by");
  stalled.socket.destroy();
  await waitUntil('session 2 to end', () => /session 2 ended/.test(server.out()));
  await waitUntil('no child left', () => childrenOf(pid).length === 0, { ms: 15_000 });
  t.pass('no child left');
});

t.test('kqueue-console serve: the token is on no command line, and its file is private', async (t) => {
  const server = await startPipeServer(t, ['--port', '0', '--', 'sh', '-c', 'echo attached; sleep 30']);
  const file = /--token-file (\S+)/.exec(server.out())?.[1];
  t.ok(file, 'serve names the token file in its attach line');
  const token = fs.readFileSync(file!, 'utf8').trim();
  t.match(token, /^[0-9a-f]{64}$/, 'which holds the token');
  t.equal(fs.statSync(file!).mode & 0o777, 0o600, 'mode 0600');
  t.equal(fs.statSync(path.dirname(file!)).mode & 0o777, 0o700, 'in a directory of mode 0700');
  t.notMatch(server.out(), token, 'the token is not printed');
  const port = /--port (\d+)/.exec(server.out())![1];
  const script = path.join(__dirname, '..', 'dist', 'cli', 'kqueue-console.js');
  const onCmdline = spawn(process.execPath, [script, 'attach', '--port', port, '--token', token], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  onCmdline.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
  const [code] = await within('attach --token: exit', onCmdline, 'exit');
  t.ok(code !== 0 && /readable by every user/.test(err), `--token is refused, saying why (exit ${code})`);
  fs.chmodSync(file!, 0o644);
  const loose = spawn(process.execPath, [script, 'attach', '--port', port, '--token-file', file!], { stdio: ['ignore', 'ignore', 'pipe'] });
  let looseErr = '';
  loose.stderr!.setEncoding('utf8').on('data', (s: string) => (looseErr += s));
  await within('attach with a 0644 token file: exit', loose, 'exit');
  t.match(looseErr, /mode 644: a token file must be/, 'a token file others can read is refused');
  server.proc.kill('SIGTERM');
  await within('server: exit', server.proc, 'exit');
  t.notOk(fs.existsSync(file!), 'SIGTERM removed the token file');
});

/** `kqueue-console attach` with `args`, as its own process: its exit code and what it printed on stderr. */
async function attach(args: string[]): Promise<{ code: number | null; err: string }> {
  const script = path.join(__dirname, '..', 'dist', 'cli', 'kqueue-console.js');
  const child = spawn(process.execPath, [script, 'attach', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
  try {
    const [code] = await within(`attach ${args.join(' ')}: exit`, child, 'exit');
    return { code: code as number | null, err };
  } finally {
    // One that hangs (in open() of a FIFO) must not hold the test open.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

t.test('kqueue-console serve: the token stays out of the program, and only a regular file of mode 0600 holds it', async (t) => {
  const token = 'a'.repeat(64);
  const server = await startPipeServer(t, ['--port', '0', '--', 'sh', '-c', 'echo "token=[$KQUEUE_CONSOLE_TOKEN]"; sleep 30'], {
    env: { KQUEUE_CONSOLE_TOKEN: token },
  });
  const c = login(t, { port: server.port, token: () => token });
  await waitUntil('the program to print its environment', () => /token=\[.*\]/.test(c.output()), { on: c.sock });
  t.match(c.output(), 'token=[]', "the served program's environment has no KQUEUE_CONSOLE_TOKEN");

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kqc-token-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const real = path.join(dir, 'token');
  fs.writeFileSync(real, token, { mode: 0o600 });
  const fifo = path.join(dir, 'fifo');
  t.equal(spawnSync('mkfifo', [fifo], { timeout: 10_000 }).status, 0, 'a FIFO to name as the token file');
  const viaFifo = await attach(['--port', String(server.port), '--token-file', fifo]);
  t.ok(viaFifo.code !== 0 && /not a regular file/.test(viaFifo.err), `a FIFO is refused at once, not waited on (exit ${viaFifo.code})`);
  const link = path.join(dir, 'link');
  fs.symlinkSync(real, link);
  const viaLink = await attach(['--port', String(server.port), '--token-file', link]);
  t.ok(viaLink.code !== 0 && /ELOOP/.test(viaLink.err), `a symlink is not followed (exit ${viaLink.code})`);
});

t.test('kqueue-console serve --unix: created 0600 under umask 000, stale files replaced, removed on SIGTERM', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kqc-attack-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const sock = path.join(dir, 'pty.sock');
  // A stale socket file: its server was killed, nothing listens.
  const stale = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(sock)}, () => console.log('up'))`], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  await within('stale server: up', stale.stdout!, 'data');
  stale.kill('SIGKILL');
  await within('stale server: exit', stale, 'exit');
  t.ok(fs.existsSync(sock), 'a stale socket file is left');

  const server = await startPipeServer(t, ['--unix', sock, '--', 'sleep', '30'], { umask: '000' });
  t.match(server.out(), /serving sleep/, 'serve replaces the stale file');
  t.equal(fs.statSync(sock).mode & 0o777, 0o600, 'the socket is mode 0600 with umask 000 (never wider)');
  const second = await startPipeServer(t, ['--unix', sock, '--', 'sleep', '30']);
  if (second.proc.exitCode === null) await within('second server: exit', second.proc, 'exit');
  t.ok(second.proc.exitCode !== 0 && /a server is listening there/.test(second.out()), 'a live socket is not taken over');
  server.proc.kill('SIGTERM');
  const [code] = await within('server: exit', server.proc, 'exit');
  t.equal(code, 0, 'SIGTERM ends the server cleanly');
  t.notOk(fs.existsSync(sock), 'and removes the socket file');
});

const NOBODY = 65534;

/** Runs `code` under node as the user nobody; what it printed. */
async function asNobody(code: string): Promise<string> {
  const child = spawn(process.execPath, ['-e', code], { uid: NOBODY, gid: NOBODY, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  await within('the process run as nobody: close', child, 'close', 30_000);
  return out.trim();
}

t.test(
  'kqueue-console serve --unix: a peer of another user is refused by its credentials, either way',
  { skip: process.getuid?.() !== 0 && 'needs root, to run a peer as another user' },
  async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kqc-peer-'));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    fs.chmodSync(dir, 0o777);
    const sock = path.join(dir, 'pty.sock');
    const server = await startPipeServer(t, ['--unix', sock, '--', 'sleep', '30']);
    // Widened by its owner, by mistake: the mode no longer keeps anyone out.
    fs.chmodSync(sock, 0o666);
    const connect = (file: string): string =>
      `const s = require('net').connect(${JSON.stringify(file)}); let n = 0;` +
      "s.on('data', (b) => (n += b.length)); s.on('error', (e) => console.log(e.code)); s.on('close', () => console.log(n));";
    t.equal(await asNobody(connect(sock)), '0', "another user's connection is closed at accept: not a byte");
    t.notMatch(server.out(), /session \S+ started/, 'and no session started');
    // Asked for the list, this user's connection gets it (a LIST frame: type 20).
    const own = net.connect(sock, () => own.write(pipeFrame(4, Buffer.from('{"op":"list"}'))));
    let got = Buffer.alloc(0);
    own.on('data', (b: Buffer) => (got = Buffer.concat([got, b])));
    await waitUntil("this user's connection: the list", () => got[0] === 20, { on: own });
    own.destroy();
    t.pass('while this user gets its answer');

    // The other way: a server of another user where the client expects its own.
    const fake = path.join(dir, 'fake.sock');
    const faker = spawn(
      process.execPath,
      ['-e', `require('net').createServer((s) => s.write(Buffer.alloc(32))).listen(${JSON.stringify(fake)}, () => console.log('up'))`],
      {
        uid: NOBODY,
        gid: NOBODY,
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    t.teardown(() => faker.kill('SIGKILL'));
    await within('the fake server: up', faker.stdout!, 'data');
    const client = new SessionStream({ path: fake });
    const [err] = await within<[Error]>('the client: error', client, 'error');
    t.match(err.message, /not this user's/, 'the client refuses a server of another user before it answers');
  },
);

/** The processes whose process group is `pgid`, from /proc/<pid>/stat (the field after ppid). */
function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) === pgid && state !== 'Z') members.push(Number(name));
    } catch {
      // Gone while listed.
    }
  }
  return members;
}

// A shell whose programs ignore SIGHUP, as `trap '' HUP` (or nohup) makes them.
const IGNORES_HUP = ['sh', '-c', "trap '' HUP; echo ready; sleep 300"];

t.test('a session that ends takes its programs with it, even those that ignore SIGHUP', async (t) => {
  const web = await startServer((fn) => t.teardown(fn), IGNORES_HUP);
  const c = await session(web.port, web.token);
  await waitUntil('the web session to print ready', () => c.received().includes('ready'), { on: c.socket });
  const [webShell] = childrenOf(web.proc.pid!);

  const pipe = await startPipeServer(t, ['--port', '0', '--', ...IGNORES_HUP]);
  const { sock, output } = login(t, pipe);
  await waitUntil('the pipe session to print ready', () => output().includes('ready'), { on: sock });
  const [pipeShell] = childrenOf(pipe.proc.pid!);

  for (const [name, group] of [
    ['web', webShell],
    ['kqueue-console serve', pipeShell],
  ] as const) {
    t.ok(groupMembers(group).length >= 2, `${name}: the shell and sleep run in group ${group}`);
  }
  const disconnected = Date.now();
  c.socket.destroy();
  sock.destroy();
  await waitUntil('both groups to be gone', () => groupMembers(webShell).length + groupMembers(pipeShell).length === 0, { ms: 10_000 });
  t.pass(`nothing of either group is left ${Date.now() - disconnected} ms after the disconnects`);
});

// Jobs typed at an interactive shell, each in a process group of its own:
// the group signal the servers sent once reached none of them.
const JOBS = {
  bash: { shell: ['bash', '--norc', '--noprofile', '-i'], job: 'nohup sleep 993 >/dev/null 2>&1 &' },
  dash: { shell: ['dash', '-i'], job: `sh -c 'trap "" HUP; sleep 991' &` },
} as const;

t.test("a client's disconnect ends its session's every job, in either server and shell", async (t) => {
  for (const [name, { shell, job }] of Object.entries(JOBS)) {
    const typed = `${job}\necho start""ed\n`;
    const web = await startServer((fn) => t.teardown(fn), [...shell]);
    const c = await session(web.port, web.token);
    c.socket.write(frame(JSON.stringify({ type: 'input', data: typed })));
    await waitUntil(`web, ${name}: the jobs started`, () => c.received().includes('started'), { on: c.socket });
    const [webShell] = childrenOf(web.proc.pid!);

    const pipe = await startPipeServer(t, ['--port', '0', '--', ...shell]);
    const { sock, output, ready } = login(t, pipe);
    await settles(`kqueue-console serve, ${name}: the handshake`, ready);
    sock.write(pipeFrame(2, Buffer.from(typed)));
    await waitUntil(`kqueue-console serve, ${name}: the jobs started`, () => output().includes('started'), { on: sock });
    const [pipeShell] = childrenOf(pipe.proc.pid!);

    const sleeping = (sid: number): boolean =>
      sessionMembers(sid).some((pid) => fs.readFileSync(`/proc/${pid}/comm`, 'utf8') === 'sleep\n');
    await waitUntil(`${name}: a sleep in each session`, () => sleeping(webShell) && sleeping(pipeShell));
    for (const [server, sid] of [
      ['web', webShell],
      ['kqueue-console serve', pipeShell],
    ] as const) {
      const outside = sessionMembers(sid).filter((pid) => groupMembers(sid).indexOf(pid) < 0);
      t.ok(outside.length > 0, `${server}, ${name}: the job (${outside.join(', ')}) is outside the shell's group ${sid}`);
    }
    const disconnected = Date.now();
    c.socket.destroy();
    sock.destroy();
    await waitUntil(`${name}: both sessions to be empty`, () => sessionMembers(webShell).length + sessionMembers(pipeShell).length === 0, {
      ms: 10_000,
    });
    t.pass(`${name}: nothing of either session is left ${Date.now() - disconnected} ms after the disconnects`);
  }
});

// The auth timeout is long here, so that a connection dropped before it was
// dropped by the cap on connections, and by nothing else.
const CAP_AUTH_TIMEOUT_MS = 5000;

t.test('caps: sessions, connections without one, and slow requests', async (t) => {
  const server = await startServer(
    (fn) => t.teardown(fn),
    ['sleep', '300'],
    ['--max-sessions', '1', '--max-pending', '4', '--auth-timeout-ms', String(CAP_AUTH_TIMEOUT_MS)],
  );
  const pid = server.proc.pid!;
  const first = await session(server.port, server.token);
  await waitUntil('session 1 to start', () => /session 1 started/.test(server.out()));
  const second = await session(server.port, server.token);
  await settles('the second session: closed by the server', second.closed);
  t.match(second.received(), /too many sessions/, 'a second session is refused (1013) while one runs');
  t.match(server.out(), /session not started: 1 sessions already/, 'and the server says so');

  // Connections that send half a request and wait (slowloris).
  const slow = await Promise.all(Array.from({ length: 20 }, () => connect(server.port, 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n')));
  let open = slow.length;
  for (const c of slow) void c.closed.then(() => open--);
  const capped = Date.now();
  await waitUntil('the connections past the cap to be dropped', () => open <= 4, { ms: CAP_AUTH_TIMEOUT_MS - 1000 });
  t.equal(
    open,
    4,
    `${slow.length - open} of ${slow.length} connections past the cap (1 session + 4) dropped, in ${Date.now() - capped} ms`,
  );
  const started = Date.now();
  await waitUntil('the slow requests to be cut', () => open === 0, { ms: 15_000 });
  t.pass(`the rest, never finishing their request, cut after ${Date.now() - started} ms`);
  const page = await connect(server.port, request(server.port, '/', 'Connection: close\r\n'));
  await settles('the page: served and closed', page.closed);
  t.match(page.received(), /^HTTP\/1\.1 200 /, 'the page is served again');
  t.equal(server.proc.exitCode, null, 'the server is running');
  first.socket.destroy();
  await waitUntil('no child left', () => childrenOf(pid).length === 0, { ms: 15_000 });

  const pipe = await startPipeServer(t, [
    '--port',
    '0',
    '--max-sessions',
    '1',
    '--max-pending',
    '4',
    '--auth-timeout-ms',
    String(CAP_AUTH_TIMEOUT_MS),
    '--',
    'sleep',
    '300',
  ]);
  // Connections that never answer the server's nonce (read and dropped, so that its close is seen).
  const silent = Array.from({ length: 20 }, () =>
    net
      .connect(pipe.port, '127.0.0.1')
      .on('error', () => {})
      .resume(),
  );
  let silentOpen = silent.length;
  for (const c of silent) c.once('close', () => silentOpen--);
  t.teardown(() => silent.forEach((c) => c.destroy()));
  const pipeCapped = Date.now();
  await waitUntil('the pipe connections past the cap to be dropped', () => silentOpen <= 5, { ms: CAP_AUTH_TIMEOUT_MS - 1000 });
  t.equal(
    silentOpen,
    5,
    `kqueue-console serve: ${silent.length - silentOpen} of ${silent.length} silent connections dropped (cap 1 + 4), in ${Date.now() - pipeCapped} ms`,
  );
  const silentStart = Date.now();
  await waitUntil('the silent pipe connections to be cut', () => silentOpen === 0, { ms: 15_000 });
  t.pass(`and the rest cut ${Date.now() - silentStart} ms later, never having sent a token`);
  login(t, pipe);
  await waitUntil('the first pipe session to start', () => childrenOf(pipe.proc.pid!).length === 1);
  const two = login(t, pipe);
  await settles('the second pipe session: closed by the server', two.closed);
  t.ok(
    two.output() === '' && /1 sessions already/.test(pipe.out()),
    'kqueue-console serve refuses a second session, with nothing sent, and says so',
  );
});

t.test('out of fds (EMFILE): a session that cannot start is refused and logged; the server lives', async (t) => {
  const server = await startServer((fn) => t.teardown(fn), ['sleep', '300']);
  const pid = server.proc.pid!;
  // RLIMIT_NOFILE bounds the numbers of new fds, which take the lowest free
  // one: set on the running server (prlimit(1)), room for the connection
  // and not for the pty, its pipes and its pidfd.
  const open = new Set(fs.readdirSync(`/proc/${pid}/fd`).map(Number));
  let free = 0;
  while (open.has(free)) free++;
  // The soft limit only: raising it again needs no privilege.
  const soft = /Max open files\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/limits`, 'utf8'))![1];
  const limit = spawnSync('prlimit', [`--pid=${pid}`, `--nofile=${free + 1}:`], { timeout: 10_000 });
  t.equal(limit.status, 0, `the server's fds limited to ${free + 1}`);
  const c = await session(server.port, server.token);
  await settles('the client under EMFILE: closed by the server', c.closed);
  t.match(c.received(), /no session/, 'the client is closed with 1011 (no session)');
  t.match(server.out(), /session not started: .*EMFILE/, 'the server logs EMFILE');
  spawnSync('prlimit', [`--pid=${pid}`, `--nofile=${soft}:`], { timeout: 10_000 });
  const page = await connect(server.port, request(server.port, '/', 'Connection: close\r\n'));
  await settles('the page: served and closed', page.closed);
  t.match(page.received(), /^HTTP\/1\.1 200 /, `with its limit back at ${soft}, it serves the page`);
  t.equal(childrenOf(pid).length, 0, 'no child was left');

  const pipe = await startPipeServer(t, ['--port', '0', '--', 'sh', '-c', 'echo attached; exec sleep 300']);
  const pipePid = pipe.proc.pid!;
  const pipeOpen = new Set(fs.readdirSync(`/proc/${pipePid}/fd`).map(Number));
  let pipeFree = 0;
  while (pipeOpen.has(pipeFree)) pipeFree++;
  t.equal(
    spawnSync('prlimit', [`--pid=${pipePid}`, `--nofile=${pipeFree + 1}:`], { timeout: 10_000 }).status,
    0,
    `kqueue-console serve's fds limited to ${pipeFree + 1}`,
  );
  const refused = login(t, pipe);
  await settles('the refused session: closed by the server', refused.closed);
  t.equal(refused.output(), '', 'kqueue-console serve: the client is disconnected with nothing sent');
  t.match(pipe.out(), /session not started: .*EMFILE/, 'and the server logs EMFILE');
  spawnSync('prlimit', [`--pid=${pipePid}`, `--nofile=${soft}:`], { timeout: 10_000 });
  const again = login(t, pipe);
  await waitUntil('a session once the limit is back', () => again.output().includes('attached'), { on: again.sock });
  t.pass('with its limit back, it starts a session');
});

/** The server's write-class system calls so far (/proc/<pid>/io, proc(5)). */
function writeCallsOf(pid: number): number {
  return Number(/^syscw: (\d+)/m.exec(fs.readFileSync(`/proc/${pid}/io`, 'utf8'))![1]);
}

// Reads `n` bytes in raw mode (no byte waits for a newline) and says how many it got.
const countInput = (n: number): string[] => ['sh', '-c', `stty raw -echo; printf READY; head -c ${n} | wc -c`];

/** Waits for the program's count after READY, and returns it. */
async function counted(output: () => string, on: net.Socket): Promise<number> {
  // Web: the count comes in a binary frame of its own, after a 2-byte header.
  const count = /READY[^]*?(\d+)\n/;
  await waitUntil('the program to print how many bytes it read', () => count.test(output()), { on, ms: 30_000 });
  return Number(count.exec(output())![1]);
}

/** Writes `frames` to the socket in batches, waiting for 'drain' where it asks to. */
async function sendAll(socket: net.Socket, frames: Buffer, batch: number): Promise<void> {
  for (let i = 0; i < frames.length; i += batch) {
    if (!socket.write(frames.subarray(i, i + batch))) await within('socket: drain', socket, 'drain');
  }
}

t.test('a flood of 1-byte input frames costs a few writes per socket read, and every byte arrives', async (t) => {
  const N = 20_000;
  // One write per frame would be N. A pty whose reader keeps pace with it
  // drains a few bytes at a time, and the server's writes follow (1,146 in
  // one full, loaded run against 3 to 23 alone): the bound leaves room for that.
  const bound = N / 4;
  const web = await startServer((fn) => t.teardown(fn), countInput(N));
  const c = await session(web.port, web.token);
  await waitUntil('the web session to be ready', () => c.received().includes('READY'), { on: c.socket });
  const one = frame(JSON.stringify({ type: 'input', data: 'x' }));
  let writes = writeCallsOf(web.proc.pid!);
  await sendAll(c.socket, Buffer.concat(Array.from({ length: N }, () => one)), 64 * 1024);
  t.equal(await counted(c.received, c.socket), N, `web: the program read all ${N} bytes`);
  writes = writeCallsOf(web.proc.pid!) - writes;
  t.ok(writes < bound, `web: the server made ${writes} write calls for ${N} frames (bound ${bound})`);

  const pipe = await startPipeServer(t, ['--port', '0', '--', ...countInput(N)]);
  const { sock, output } = login(t, pipe);
  await waitUntil('the pipe session to be ready', () => output().includes('READY'), { on: sock });
  writes = writeCallsOf(pipe.proc.pid!);
  const data = Buffer.from([2, 0, 0, 0, 1, 0x78]); // DATA, length 1, "x"
  await sendAll(sock, Buffer.concat(Array.from({ length: N }, () => data)), 64 * 1024);
  t.equal(await counted(output, sock), N, `kqueue-console serve: the program read all ${N} bytes`);
  writes = writeCallsOf(pipe.proc.pid!) - writes;
  t.ok(writes < bound, `kqueue-console serve: the server made ${writes} write calls for ${N} frames (bound ${bound})`);
});

t.test('kqueue-console serve: input a program does not read is cut off at the bound, and the session ends', async (t) => {
  const pipe = await startPipeServer(t, ['--port', '0', '--', 'sh', '-c', 'stty raw -echo; echo ready; exec sleep 300']);
  const pid = pipe.proc.pid!;
  const fdsBefore = fdCountOf(pid);
  const rssBefore = rssOf(pid);
  const { sock, output, closed } = login(t, pipe);
  await waitUntil('the session to be ready', () => output().includes('ready'), { on: sock });
  // In raw mode a full pty stops its writer (in canonical mode the kernel
  // drops what does not fit a line: drivers/tty/n_tty.c), so every byte
  // past the pty's buffer waits in the server. 64 KiB DATA frames, up to
  // 256 MiB, as fast as the server takes them.
  const data = Buffer.concat([Buffer.from([2, 0, 1, 0, 0]), Buffer.alloc(64 * 1024, 'x')]);
  let sent = 0;
  let open = true;
  void closed.then(() => (open = false));
  while (open && sent < 256 * MiB) {
    sent += data.length - 5;
    if (!sock.write(data))
      await settles(
        'the server: taking input (drain) or closing',
        Promise.race([new Promise((r) => sock.once('drain', r)), closed]),
        60_000,
      );
  }
  t.notOk(open, 'the server cut the connection');
  t.ok(sent < 64 * MiB, `the server cut the client after ${(sent / MiB).toFixed(1)} MiB sent`);
  // Its log comes through a pipe of its own, maybe after the reset.
  await waitUntil('the server to log why', () => /session 1: input not read; disconnecting/.test(pipe.out()));
  t.pass('and logs why');
  rssGrowthWithin(t, rssOf(pid) - rssBefore, 32 * MiB, "the server's RSS grew by");
  await waitUntil('the server to hold no child and no extra fd', () => childrenOf(pid).length === 0 && fdCountOf(pid) <= fdsBefore, {
    ms: 15_000,
  });
  t.pass(`no child left, fds back to ${fdCountOf(pid)} (before: ${fdsBefore})`);
  t.equal(pipe.proc.exitCode, null, 'the server is running');
});
