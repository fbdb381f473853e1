// One run of W8 (input flood) against one example server, in a process of
// its own:
//   node flood-peer.mjs <web-terminal|kqueue-console serve> W8 '{"size": N}'
// Starts the server as a user does (dist/examples/web-terminal.js, or
// dist/cli/kqueue-console.js serve), with a program
// that reads N bytes of input in raw mode and prints how many it got; then
// sends N bytes of input, one byte per frame, as fast as the server takes
// them. The server's CPU time and write-class system calls (/proc/<pid>/stat
// and /proc/<pid>/io, proc(5)) are read before and after. Prints one JSON
// result line.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as net from 'node:net';

const require = createRequire(import.meta.url);
const root = new URL('../../', import.meta.url).pathname;
const [peer, , json] = process.argv.slice(2);
const { size } = JSON.parse(json ?? '{}');
const TICK_MS = 10; // USER_HZ is 100 on Linux (times(2)).
// Raw mode, so that no byte waits for a newline; R: ready; then the count.
const program = ['sh', '-c', `stty raw -echo cs8 -parenb; printf R; head -c ${size} | wc -c`];

function serverUsage(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const io = fs.readFileSync(`/proc/${pid}/io`, 'utf8');
  // utime and stime are fields 14 and 15 (1-based, of the whole line).
  return { cpuMs: (Number(fields[11]) + Number(fields[12])) * TICK_MS, writes: Number(/^syscw: (\d+)/m.exec(io)[1]) };
}

function startServer(args) {
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  proc.stdout.setEncoding('utf8').on('data', (s) => (out += s));
  return { proc, out: () => out };
}

async function waitFor(what, check, ms = 20_000) {
  for (const deadline = Date.now() + ms; !check();) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Writes `n` copies of `frame` to the socket, 4096 at a time, as fast as it drains. */
async function sendFrames(socket, frame, n) {
  const batch = 4096;
  for (let i = 0; i < n; i += batch) {
    const frames = Buffer.concat(Array.from({ length: Math.min(batch, n - i) }, () => frame));
    if (!socket.write(frames)) await once(socket, 'drain');
  }
}

/** A client of the web terminal: sends input as {type: 'input', data} text messages. */
async function webClient() {
  const { WebSocket } = require(`${root}node_modules/ws`);
  const server = startServer([`${root}dist/examples/web-terminal.js`, '--', ...program]);
  await waitFor('the URL', () => /open (http:\S+)/.test(server.out()));
  const url = new URL(/open (http:\S+)/.exec(server.out())[1]);
  const ws = new WebSocket(`ws://${url.host}/ws`, { origin: `http://${url.host}` });
  let output = '';
  ws.on('message', (data, isBinary) => {
    if (isBinary) output += data.toString('latin1');
  });
  await once(ws, 'open');
  ws.send(JSON.stringify({ type: 'auth', token: new URLSearchParams(url.hash.slice(1)).get('token') }));
  // The frames are made here and written to the socket in bulk, so that the
  // client is not what limits the rate. A client must mask its frames (RFC
  // 6455 5.3); a zero key, which the server cannot tell from a random one,
  // leaves the payload as it is.
  const payload = Buffer.from(JSON.stringify({ type: 'input', data: 'x' }));
  const message = Buffer.concat([Buffer.from([0x81, 0x80 | payload.length, 0, 0, 0, 0]), payload]);
  return {
    server,
    output: () => output,
    send: (n) => sendFrames(ws._socket, message, n),
    close: () => ws.terminate(),
  };
}

/** A client of `kqueue-console serve` on a port: the proof of the token, a HELLO, then input as DATA frames. */
async function sessionClient() {
  const { ClientHandshake } = require(`${root}dist/server/handshake.js`);
  const { FrameReader, frame } = require(`${root}dist/server/frames.js`);
  const server = startServer([`${root}dist/cli/kqueue-console.js`, 'serve', '--port', '0', '--linger', '0', '--', ...program]);
  await waitFor('the attach line', () => /--token-file (\S+)/.test(server.out()));
  const port = Number(/--port (\d+)/.exec(server.out())[1]);
  const token = fs.readFileSync(/--token-file (\S+)/.exec(server.out())[1], 'utf8').trim();
  const socket = net.connect(port, '127.0.0.1');
  // The handshake (src/server/handshake.ts): the server's nonce, the AUTH
  // frame with this side's proof, the server's proof; then a HELLO, and the
  // session's frames (OUTPUT, type 18: a sequence number, then the bytes).
  const handshake = new ClientHandshake(token);
  let output = '';
  const reader = new FrameReader((type, payload) => {
    if (type === 18) output += payload.subarray(8).toString('latin1');
  }, 64 << 20);
  socket.on('data', (d) => {
    if (handshake.open) return void reader.push(d);
    const { send, output: after } = handshake.feed(d);
    if (send !== undefined) socket.write(frame(1, send));
    if (handshake.open) socket.write(frame(4, Buffer.from(JSON.stringify({ op: 'attach', new: true }))));
    if (after !== undefined) reader.push(after);
  });
  const data = Buffer.from([2, 0, 0, 0, 1, 0x78]); // DATA, length 1, "x"
  return {
    server,
    output: () => output,
    send: (n) => sendFrames(socket, data, n),
    close: () => socket.destroy(),
  };
}

const client = peer === 'web-terminal' ? await webClient() : await sessionClient();
try {
  await waitFor('the program to be ready', () => client.output().includes('R'));
  const pid = client.server.proc.pid;
  const before = serverUsage(pid);
  const t0 = performance.now();
  await client.send(size);
  await waitFor(`the program to count ${size} bytes`, () => /R\s*\d+/.test(client.output()), 120_000);
  const seconds = (performance.now() - t0) / 1000;
  const after = serverUsage(pid);
  const bytes = Number(/R\s*(\d+)/.exec(client.output())[1]);
  const mib = size / 2 ** 20;
  console.log(
    JSON.stringify({
      bytes,
      seconds,
      serverCpuMsPerMiB: (after.cpuMs - before.cpuMs) / mib,
      serverWritesPerMiB: (after.writes - before.writes) / mib,
    }),
  );
} finally {
  client.close();
  // The next run starts once this server has ended its session and gone.
  const exited = once(client.server.proc, 'exit');
  client.server.proc.kill('SIGTERM');
  await exited;
}
