// The socket example: secure by default, a shell over the socket, and
// backpressure across it.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import t from 'tap';
import { Harness } from '../src/harness';
import { PtyClient, privateSocketPath, serve } from '../examples/pipe-to-socket';
import { SYS_WRITE, blockedSyscall, eventually, memoryFiguresUnreliable } from './helpers/pty';

const shellEnv = { PATH: process.env.PATH, PS1: 'test$ ', TERM: 'xterm' };

function authFrame(token: string): Buffer {
  const head = Buffer.from([1, 0, 0, 0, 0]);
  head.writeUInt32BE(Buffer.byteLength(token), 1);
  return Buffer.concat([head, Buffer.from(token)]);
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
    sock.write(authFrame(guess));
    await once(sock, 'close');
    t.equal(got, 0, `token ${JSON.stringify(guess.slice(0, 12))}…: disconnected with nothing sent`);
  }
  t.same(server.pids, [], 'and no shell was started for them');

  const client = new PtyClient(server.address, server.token);
  const h = Harness.attach(client);
  await h.expect('test$ ');
  await h.send('echo "over the socket: $((6 * 7))"\n');
  await h.expect('over the socket: 42\r\n');
  client.resize({ rows: 50, cols: 132 });
  await h.send('stty size\n');
  await h.expect('50 132\r\n');
  await h.send('exit\n');
  await once(client, 'close');
  await server.close();
});

t.test('a Unix socket is mode 0600; other hosts are refused', async (t) => {
  const socketPath = privateSocketPath();
  const server = await serve({ command: 'true', listen: { path: socketPath } });
  t.equal(fs.statSync(socketPath).mode & 0o777, 0o600, 'the socket is 0600');
  t.equal(fs.statSync(path.dirname(socketPath)).mode & 0o777, 0o700, 'in a 0700 directory');
  await server.close();
  await t.rejects(serve({ command: 'true', listen: { host: '0.0.0.0' as never, port: 0 } }), /loopback only/);
});

/** VmRSS of a process in bytes, from /proc/<pid>/status. */
function processRss(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return kb ? Number(kb[1]) * 1024 : 0;
}

t.test('a client that stops reading for 2 s stops the child, and the server holds steady', async (t) => {
  // The server runs as its own process (the example's command line), so
  // its memory is measured apart from this client's.
  const server = spawn(
    process.execPath,
    [...process.execArgv, path.join(__dirname, '..', 'examples', 'pipe-to-socket.ts'), 'serve', '--port', '0', '--', 'yes', 'backpressure'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let banner = '';
  server.stdout.setEncoding('utf8').on('data', (s: string) => (banner += s));
  t.ok(await eventually(() => /--token [0-9a-f]{64}/.test(banner)), 'the server printed where it listens and the token');
  const port = Number(/--port (\d+)/.exec(banner)![1]);
  const token = /--token ([0-9a-f]{64})/.exec(banner)![1];

  const sock = net.connect(port, '127.0.0.1');
  sock.write(authFrame(token));
  let got = 0;
  let paused = false;
  await new Promise<void>((resolve) => {
    sock.on('data', (b: Buffer) => {
      got += b.length;
      if (!paused && got >= 4 * 1024 * 1024) {
        paused = true;
        sock.pause();
        resolve();
      }
    });
  });
  const childPid = Number(fs.readFileSync(`/proc/${server.pid}/task/${server.pid}/children`, 'utf8').trim().split(' ')[0]);
  const atPause = got;
  t.ok(await eventually(() => blockedSyscall(childPid) === SYS_WRITE), 'the child is blocked in write()');
  const rssAtPause = processRss(server.pid!);
  await new Promise((r) => setTimeout(r, 2000)); // The client stays away 2 s.
  t.equal(blockedSyscall(childPid), SYS_WRITE, 'still blocked after 2 s');
  t.equal(got, atPause, 'nothing was delivered meanwhile');
  const growth = processRss(server.pid!) - rssAtPause;
  const unreliable = memoryFiguresUnreliable();
  if (unreliable) t.pass(`server RSS growth (${(growth / 1048576).toFixed(2)} MiB) not judged`, { skip: unreliable });
  else t.ok(growth < 4 * 1024 * 1024, `the server's RSS grew ${(growth / 1048576).toFixed(2)} MiB in the 2 s (from ${(rssAtPause / 1048576).toFixed(1)} MiB)`);

  sock.resume();
  t.ok(await eventually(() => got >= atPause + 4 * 1024 * 1024), 'reading again, output flows again');
  sock.destroy();
  server.kill('SIGINT');
  t.equal((await once(server, 'exit'))[0], 0, 'the server exits cleanly on SIGINT');
});
