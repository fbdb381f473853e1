/**
 * Clients of the servers of a shell, as their tests drive them: raw
 * WebSocket frames and connections for the web terminal, and `kqueue-console
 * serve` started as a user starts it, with a client that has proven the
 * token and started a session.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { ClientHandshake, FrameReader } from '../../src/server';
import { waitUntil, within } from './wait';

/** A client frame (masked, as RFC 6455 5.3 requires of clients) holding `text`. */
export function frame(text: string): Buffer {
  const payload = Buffer.from(text);
  const n = payload.length;
  const head = n < 126 ? Buffer.from([0x81, 0x80 | n]) : Buffer.from([0x81, 0x80 | 127, 0, 0, 0, 0, 0, 0, 0, 0]);
  if (n >= 126) head.writeUInt32BE(n, 6);
  const mask = crypto.randomBytes(4);
  for (let i = 0; i < n; i++) payload[i] ^= mask[i & 3];
  return Buffer.concat([head, mask, payload]);
}

/** A frame of the session protocol, made by hand: type, 32-bit length, payload. */
export function pipeFrame(type: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head[0] = type;
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

/** A raw connection to the server: everything it sends is counted and otherwise ignored. */
export async function connect(
  port: number,
  request: string,
): Promise<{ socket: net.Socket; received: () => string; closed: Promise<void> }> {
  const socket = net.connect(port, '127.0.0.1');
  let received = '';
  socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await within('socket: connect', socket, 'connect');
  socket.write(request);
  return { socket, received: () => received, closed };
}

export function request(port: number, path: string, extra = ''): string {
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${extra}\r\n`;
}

/** A WebSocket session that has sent the token: the upgrade by hand, then the auth frame. */
export async function session(port: number, token: string): Promise<Awaited<ReturnType<typeof connect>>> {
  const key = crypto.randomBytes(16).toString('base64');
  const upgrade =
    `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\n` +
    `Sec-WebSocket-Version: 13\r\nOrigin: http://127.0.0.1:${port}\r\n`;
  const c = await connect(port, request(port, '/ws', upgrade));
  await waitUntil('the 101 answer', () => c.received().startsWith('HTTP/1.1 101'), { on: c.socket });
  c.socket.write(frame(JSON.stringify({ type: 'auth', token })));
  return c;
}

/**
 * `kqueue-console serve` as its own process, as a user starts it (a port or
 * a Unix socket; its sessions end with their clients, `--linger 0`, unless
 * `args` says otherwise); what it printed.
 */
export async function startPipeServer(
  t: { teardown(fn: () => void): void },
  args: string[],
  options: { env?: NodeJS.ProcessEnv; umask?: string } = {},
): Promise<{ proc: ChildProcess; out: () => string; port: number; token: () => string }> {
  const script = path.join(__dirname, '..', '..', 'dist', 'cli', 'kqueue-console.js');
  const linger = args.includes('--linger') ? [] : ['--linger', '0'];
  // sh sets the umask the server starts under, as a login shell would.
  const proc = spawn(
    'sh',
    ['-c', `umask ${options.umask ?? '022'}; exec "$0" "$@"`, process.execPath, script, 'serve', ...linger, ...args],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...options.env },
    },
  );
  t.teardown(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });
  let out = '';
  proc.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  proc.stderr!.setEncoding('utf8').on('data', (s: string) => (out += s));
  // On a port, with no token given, the line after names the token's file.
  const tokenFile = !options.env?.KQUEUE_CONSOLE_TOKEN;
  const ready = (): boolean =>
    /serving .* on --unix/.test(out) || (/serving .* on --port/.test(out) && (!tokenFile || /--token-file/.test(out)));
  await waitUntil('the server saying where it serves', () => ready() || proc.exitCode !== null);
  return {
    proc,
    out: () => out,
    port: Number(/--port (\d+)/.exec(out)?.[1]),
    token: () => fs.readFileSync(/--token-file (\S+)/.exec(out)![1], 'utf8').trim(),
  };
}

/**
 * The client's half of the session protocol on `sock`: on a port, the
 * proof of `token` (handshake.ts), then a HELLO that starts a session of
 * its own. `output` is the session's output (OUTPUT frames), as latin1;
 * `ready` resolves once the HELLO is sent (DATA and RESIZE may follow).
 */
export function handshakeOn(sock: net.Socket, token: string | null): { output: () => string; ready: Promise<void> } {
  const handshake = token === null ? null : new ClientHandshake(token);
  let output = '';
  let opened!: () => void;
  const ready = new Promise<void>((resolve) => (opened = resolve));
  const hello = (): void => {
    sock.write(pipeFrame(4, Buffer.from(JSON.stringify({ op: 'attach', new: true }))));
    opened();
  };
  const reader = new FrameReader((type, payload) => {
    if (type === 18) output += payload.subarray(8).toString('latin1');
  }, 64 << 20);
  if (handshake === null) sock.once('connect', hello);
  sock.on('data', (d: Buffer) => {
    if (handshake === null || handshake.open) return void reader.push(d);
    const { send, output: after } = handshake.feed(d);
    if (send !== undefined) sock.write(pipeFrame(1, send));
    if (handshake.open) hello();
    if (after !== undefined) reader.push(after);
  });
  return { output: () => output, ready };
}

/** A client of a session server on a port that has proven it knows the token and started a session; its output, as latin1. */
export function login(t: { teardown(fn: () => void): void }, pipe: { port: number; token: () => string }) {
  const sock = net.connect(pipe.port, '127.0.0.1');
  t.teardown(() => sock.destroy());
  // The server resets the connection (ECONNRESET) when it cuts it.
  sock.on('error', () => {});
  const closed = new Promise<void>((resolve) => sock.once('close', () => resolve()));
  return { sock, closed, ...handshakeOn(sock, pipe.token()) };
}
