/**
 * Who may reach a server, as every server here decides it: loopback
 * addresses only; a Unix socket created mode 0600 and peers of this user
 * only; tokens that are random, compared in constant time, and never on a
 * command line (/proc/<pid>/cmdline is world-readable): they come from
 * the environment or from a file only their owner can read.
 * @module
 */
import * as crypto from 'node:crypto';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { peerUid } from '../addon/peer';

/** The hosts a server may listen on: loopback only. */
export const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '::1'] as const;
export type LoopbackHost = (typeof LOOPBACK_HOSTS)[number];

export function checkLoopback(host: string): asserts host is LoopbackHost {
  if (!(LOOPBACK_HOSTS as readonly string[]).includes(host)) throw new Error(`refusing to listen on ${host}: loopback only`);
}

/** A fresh token: 32 random bytes, hex. */
export function newToken(): string {
  return crypto.randomBytes(32).toString('hex');
}

/** Compares in constant time (for equal lengths): how long it takes says nothing of the token. */
export function tokenMatches(given: unknown, token: Buffer): boolean {
  if (typeof given !== 'string' && !Buffer.isBuffer(given)) return false;
  const bytes = Buffer.from(given);
  return bytes.length === token.length && crypto.timingSafeEqual(bytes, token);
}

/** Whether the peer of a Unix socket is this process's user; false when that cannot be told. */
export function sameUser(socket: net.Socket): boolean {
  try {
    return peerUid(socket) === process.getuid?.();
  } catch {
    return false;
  }
}

/** Where a server listens: a loopback port, or a Unix socket's path. */
export type Address = { host?: LoopbackHost; port: number } | { path: string };

/** Listens on a Unix socket only this user may connect to, or on a loopback port. */
export async function listenOn(server: net.Server, listen: Address): Promise<Address> {
  if ('path' in listen) {
    await removeStaleSocket(listen.path);
    // bind(2) creates the file with the mode the umask leaves (unix(7)): a
    // chmod afterwards would leave a moment in which anyone may connect.
    const umask = process.umask(0o177);
    try {
      server.listen(listen.path);
      await once(server, 'listening');
    } finally {
      process.umask(umask);
    }
    return { path: listen.path };
  }
  const host = listen.host ?? '127.0.0.1';
  checkLoopback(host);
  server.listen(listen.port, host);
  await once(server, 'listening');
  return { host, port: (server.address() as net.AddressInfo).port };
}

/** A fresh Unix socket path in a directory only this user can enter. */
export function privateSocketPath(): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pty-socket-')), 'pty.sock');
}

/** Writes `token` to a new file of mode 0600 in a new directory of mode 0700; returns its path. */
export function writeTokenFile(token: string): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pty-token-')), 'token');
  fs.writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  return file;
}

/**
 * Reads a token file, refusing one that another user could read or write
 * (any group or other bit of its mode) or that this user does not own.
 */
export function readTokenFile(file: string): string {
  // Not through a link (ELOOP), and without blocking: a FIFO would hang
  // open() until someone wrote to it; it is refused below as no file.
  const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
  const fd = fs.openSync(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new Error(`${file}: not a regular file`);
    if ((st.mode & 0o077) !== 0 || (process.getuid !== undefined && st.uid !== process.getuid())) {
      throw new Error(`${file}: mode ${(st.mode & 0o777).toString(8)}: a token file must be this user's, mode 0600`);
    }
    return fs.readFileSync(fd, 'utf8').trim();
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * A socket file left by a server that did not close (SIGKILL, a crash):
 * removed when nothing answers on it. A live one is an error, as is a path
 * that is something else than a socket.
 */
async function removeStaleSocket(file: string): Promise<void> {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new Error(`${file} exists and is not a socket`);
  const answered = await new Promise<boolean>((resolve) => {
    const probe = net.connect(file, () => {
      probe.destroy();
      resolve(true);
    });
    probe.on('error', () => resolve(false));
  });
  if (answered) throw new Error(`${file}: a server is listening there`);
  fs.unlinkSync(file);
}
