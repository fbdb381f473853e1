// kqueue-console/server on a socket (`kqueue-console serve`): secure by
// default, a shell over the socket, and backpressure across it.
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import t from 'tap';
import { Harness } from '../src/harness';
import {
  NONCE_BYTES,
  SessionStream,
  privateSocketPath,
  serveSessions,
  type Address,
  type SessionServer,
  type SessionServerOptions,
} from '../src/server';
import { handshakeOn } from './helpers/clients';
import { startWebTerminal } from '../examples/web-terminal';
import { noFdOpenedSince, openFdLinks } from './helpers/fds';
import { SYS_WRITE, blockedSyscall, memoryFiguresUnreliable } from './helpers/pty';
import { settles, waitUntil, within } from './helpers/fixtures';

const shellEnv = { PATH: process.env.PATH, PS1: 'test$ ', TERM: 'xterm' };

/** A session server on a loopback port by default, as `kqueue-console serve --port 0` starts one. */
function serve(options: Partial<SessionServerOptions> & { command: string }): Promise<SessionServer & { readonly address: Address }> {
  return serveSessions({ listen: { host: '127.0.0.1', port: 0 }, ...options });
}

t.test('a wrong token gets nothing; the right token gets a shell', async (t) => {
  const server = await serve({ command: 'sh', args: ['-i'], env: shellEnv });
  t.ok(/^[0-9a-f]{64}$/.test(server.token), 'a random 256-bit token by default');
  if ('path' in server.address) throw new Error('expected TCP');
  t.equal(server.address.host, '127.0.0.1', 'loopback only');

  for (const guess of ['', 'guess', server.token.slice(0, -1) + (server.token.endsWith('0') ? '1' : '0'), server.token + 'x']) {
    const sock = net.connect(server.address.port, '127.0.0.1');
    let got = 0;
    sock.on('data', (b: Buffer) => (got += b.length));
    sock.on('error', () => {});
    const { output } = handshakeOn(sock, guess);
    await within('sock: close', sock, 'close', 120_000);
    t.ok(
      got === NONCE_BYTES && output() === '',
      `token ${JSON.stringify(guess.slice(0, 12))}…: disconnected with nothing but the server's nonce (${got} bytes)`,
    );
  }
  t.same(server.list(), [], 'and no shell was started for them');

  const client = new SessionStream(server.address, { token: server.token });
  const h = Harness.attach(client);
  await h.expect('test$ ');
  await h.send('echo "over the socket: $((6 * 7))"\n');
  await h.expect('over the socket: 42\r\n');
  client.resize({ rows: 50, cols: 132 });
  await h.send('stty size\n');
  await h.expect('50 132\r\n');
  await h.send('exit\n');
  await within('client: close', client, 'close', 120_000);
  await server.close();
});

t.test('the token never crosses the socket: a listener that does not know it gets no input', async (t) => {
  const token = 'f'.repeat(64);
  // A listener on the port the client names, as another local user could hold it.
  let received = Buffer.alloc(0);
  const fake = net.createServer((sock) => {
    sock.on('data', (b: Buffer) => {
      received = Buffer.concat([received, b]);
      // After the client's AUTH frame, a "proof" it cannot have made.
      if (received.length >= 5 + 64) sock.write(crypto.randomBytes(32));
    });
    sock.write(crypto.randomBytes(NONCE_BYTES));
  });
  t.teardown(() => fake.close());
  fake.listen(0, '127.0.0.1');
  await within('the fake server: listening', fake, 'listening');
  const client = new SessionStream({ port: (fake.address() as net.AddressInfo).port }, { token });
  client.write('my password\n');
  client.resize({ rows: 10, cols: 10 });
  const [err] = await within<[Error]>('the client: error', client, 'error');
  t.match(err.message, /did not prove that it knows the token/, 'the client refuses a server that cannot prove the token');
  t.equal(received.length, 5 + 64, 'the listener got the AUTH frame (a nonce and a proof) and nothing else: no HELLO, no input, no resize');
  t.notOk(received.includes(token) || received.includes(Buffer.from(token, 'hex')), 'and the token is in it in no form');
});

t.test('a Unix socket is mode 0600; other hosts are refused', async (t) => {
  const socketPath = privateSocketPath();
  const server = await serve({ command: 'true', listen: { path: socketPath } });
  t.equal(fs.statSync(socketPath).mode & 0o777, 0o600, 'the socket is 0600');
  t.equal(fs.statSync(path.dirname(socketPath)).mode & 0o777, 0o700, 'in a 0700 directory');
  await server.close();
  await t.rejects(serve({ command: 'true', listen: { host: '0.0.0.0' as never, port: 0 } }), /loopback only/);
  await t.rejects(serve({ command: 'true', web: { host: '0.0.0.0' as never } }), /loopback only/);
});

/** CPU ticks (user + system) a process has used, from /proc/<pid>/stat. */
function processTicks(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** Whether no thread of a process is running or waiting for a CPU (state R in /proc/<pid>/task/<tid>/stat). */
function noThreadRunnable(pid: number): boolean {
  return fs.readdirSync(`/proc/${pid}/task`).every((tid) => {
    try {
      return fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1][0] !== 'R';
    } catch {
      return true; // Gone meanwhile.
    }
  });
}

/** VmRSS of a process in bytes, from /proc/<pid>/status. */
function processRss(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return kb ? Number(kb[1]) * 1024 : 0;
}

/** The bytes a process has written, from /proc/<pid>/io (wchar: every write(2), whatever the fd). */
function bytesWritten(pid: number): number {
  return Number(/^wchar: (\d+)$/m.exec(fs.readFileSync(`/proc/${pid}/io`, 'utf8'))![1]);
}

/**
 * The bytes received and not yet read at the client end of a loopback TCP
 * connection (rx_queue in /proc/net/tcp; proc_net_tcp(7)'s columns).
 */
function unreadAtClient(serverPort: number, clientPort: number): number {
  const hexPort = (p: number): string => `:${p.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of fs.readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length > 4 && f[1].endsWith(hexPort(clientPort)) && f[2].endsWith(hexPort(serverPort))) return parseInt(f[4].split(':')[1], 16);
  }
  throw new Error(`no loopback connection from port ${clientPort} to ${serverPort} in /proc/net/tcp`);
}

t.test('a client that stops reading for 2 s stops the child, and the server holds steady', async (t) => {
  // The server runs as its own process, the compiled command as a user runs
  // it (npm test builds dist/ first), so that its memory is measured apart
  // from this client's and from the TypeScript loader's.
  const server = spawn(
    process.execPath,
    [path.join(__dirname, '..', 'dist', 'cli', 'kqueue-console.js'), 'serve', '--port', '0', '--', 'yes', 'backpressure'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let banner = '';
  server.stdout.setEncoding('utf8').on('data', (s: string) => (banner += s));
  await waitUntil('the server printed where it listens and the token file', () => /--token-file \S+/.test(banner));
  t.pass('the server printed where it listens and the token file');
  const port = Number(/--port (\d+)/.exec(banner)![1]);
  const token = fs.readFileSync(/--token-file (\S+)/.exec(banner)![1], 'utf8').trim();

  const sock = net.connect(port, '127.0.0.1');
  await settles('the handshake', handshakeOn(sock, token).ready);
  let got = 0;
  let paused = false;
  const SENT = 4 * 1024 * 1024;
  await settles(
    `the client read ${SENT} bytes`,
    new Promise<void>((resolve) => {
      sock.on('data', (b: Buffer) => {
        got += b.length;
        if (!paused && got >= SENT) {
          paused = true;
          sock.pause();
          resolve();
        }
      });
    }),
  );
  const childPid = Number(fs.readFileSync(`/proc/${server.pid}/task/${server.pid}/children`, 'utf8').trim().split(' ')[0]);
  const atPause = got;
  await waitUntil('the child is blocked in write()', () => blockedSyscall(childPid) === SYS_WRITE);
  t.pass('the child is blocked in write()');
  // The stall begins once the server has finished what was in flight: its
  // CPU stops advancing (a tick is 10 ms; unchanged over 500 ms: the screen's
  // parser works in slices with timers between them) while none
  // of its threads is runnable (on a loaded machine, one waiting for a CPU
  // has work left that its ticks do not show yet).
  let ticks = -1;
  let quietSince = Date.now();
  await waitUntil('the server went quiet', () => {
    const now = processTicks(server.pid!);
    if (now !== ticks || !noThreadRunnable(server.pid!)) {
      ticks = now;
      quietSince = Date.now();
    }
    return Date.now() - quietSince >= 500;
  });
  t.pass('the server went quiet');
  const rssAtPause = processRss(server.pid!);
  const ticksAtPause = processTicks(server.pid!);
  await new Promise((r) => setTimeout(r, 2000)); // The client stays away 2 s.
  t.equal(blockedSyscall(childPid), SYS_WRITE, 'still blocked after 2 s');
  t.equal(got, atPause, 'nothing was delivered meanwhile');
  // A server that looped while stalled would use the whole 2 s (200 ticks) at least. What
  // it may use is a collection of the heap its screen's parser grew, which the runtime
  // starts once the output stops (V8's memory reducer; Bun's RSS fell 39.6 MiB in one
  // stall): 52 ticks in a run beside four other test files, 0 to 2 alone.
  const stallTicks = processTicks(server.pid!) - ticksAtPause;
  t.ok(stallTicks <= 100, `the server used ${stallTicks} ticks of CPU in the 2 s stall (at most 100: no loop)`);
  const growth = processRss(server.pid!) - rssAtPause;
  const unreliable = memoryFiguresUnreliable();
  const mib = (n: number): string => (n / 1048576).toFixed(2);
  if (unreliable) t.pass(`server RSS growth (${mib(growth)} MiB) not judged`, { skip: unreliable });
  else t.ok(growth < 1024 * 1024, `the server's RSS grew ${mib(growth)} MiB during the 2 s stall`);
  // The child's bytes that have not reached the client's socket are in the
  // pty, in the server, or in the server's socket send buffer, which the
  // kernel caps at tcp_wmem's maximum (tcp(7)). A server that read ahead of
  // its client would hold more; RSS could not tell, as it counts the
  // garbage of the 4 MiB sent (10 to 20 MiB, as V8 last collected).
  const sendBufferMax = Number(fs.readFileSync('/proc/sys/net/ipv4/tcp_wmem', 'utf8').trim().split(/\s+/)[2]);
  const serverSide = bytesWritten(childPid) - got - unreadAtClient(port, sock.localPort!);
  t.ok(
    serverSide < sendBufferMax + 1024 * 1024,
    `the server side holds ${(serverSide / 1024).toFixed(0)} KiB of the child's output: at most its socket's send buffer (${sendBufferMax / 1024} KiB) and 1 MiB`,
  );

  sock.resume();
  await waitUntil('reading again, output flows again', () => got >= atPause + 4 * 1024 * 1024);
  t.pass('reading again, output flows again');
  sock.destroy();
  server.kill('SIGINT');
  t.equal((await within('server: exit', server, 'exit', 120_000))[0], 0, 'the server exits cleanly on SIGINT');
});

t.test('a server that cannot listen leaves nothing open: on a socket and in the browser', async (t) => {
  const busy = net.createServer().listen(0, '127.0.0.1');
  t.teardown(() => busy.close());
  await within('the port holder: listening', busy, 'listening');
  const port = (busy.address() as net.AddressInfo).port;
  const before = openFdLinks();
  for (let i = 0; i < 3; i++) {
    await t.rejects(serve({ command: 'true', listen: { host: '127.0.0.1', port } }), { code: 'EADDRINUSE' }, 'the socket: EADDRINUSE');
    await t.rejects(startWebTerminal({ command: 'true', port }), { code: 'EADDRINUSE' }, 'the web terminal: EADDRINUSE');
  }
  noFdOpenedSince(t, before, 'and no fd (their Kqueuers) is left behind');
});
