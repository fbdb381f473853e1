// Serve a command in a pty over a socket, and attach a terminal to it.
//
//   node dist/examples/pipe-to-socket.js serve [--port N | --unix PATH] [--token-file F] -- sh -i
//   node dist/examples/pipe-to-socket.js attach (--port N | --unix PATH) [--token-file F]
//
// Secure by default: TCP listens on 127.0.0.1 only; a Unix socket is created
// mode 0600 (under a umask of 0177, so it never exists with more); and a
// client must prove it knows the random token before any byte of the pty
// flows (a wrong proof is disconnected with nothing of the pty sent). Backpressure crosses the
// socket: a client that stops reading stops the pty's reads, and the child
// blocks in write(); a client whose input waits unread past 4 MiB is cut off.
//
// The token is never on a command line, where every local user can read it
// (/proc/<pid>/cmdline): it comes from PTY_SOCKET_TOKEN (a process's
// environment is readable by its owner only, proc(5)), or from a file that
// only its owner can read. `serve` writes the token it makes to a new file
// of mode 0600 in a directory of mode 0700 and prints that file's name.
//
// The protocol, client to server: frames of [type u8][length u32 BE][payload]:
// AUTH (first and once: a proof of the token, never the token itself:
// handshake.ts), DATA (input), RESIZE (rows u16, cols u16). Server to client:
// its nonce, then its own proof of the token, then the pty's output, raw.
// On a Unix socket each side also checks that the other is its own user, by
// the credentials the kernel recorded (SO_PEERCRED, getpeereid).
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Duplex } from 'node:stream';
import { Kqueuer, current, type PtyProcess, type WinSize } from 'kqueue-console';
import {
  ClientHandshake,
  FrameReader,
  clientAuth,
  frame,
  inputWriter,
  listenOn,
  newToken,
  nonce,
  readTokenFile,
  sameUser,
  serverAnswer,
  writeTokenFile,
  type Address,
} from 'kqueue-console/server';
import { LIMITS_USAGE, Sessions, limitsOf, takeLimitFlag, type Limits } from './shell-server';

export { privateSocketPath, readTokenFile, writeTokenFile, type Address } from 'kqueue-console/server';

const AUTH = 1;
const DATA = 2;
const RESIZE = 3;
/** Where the token comes from when no file is named. */
export const TOKEN_ENV = 'PTY_SOCKET_TOKEN';

export interface ServeOptions extends Limits {
  /** The program to run for each client, and its arguments. */
  command: string;
  args?: string[];
  /** Where to listen; default 127.0.0.1 on a free port. */
  listen?: Address;
  /** The token clients must present; default 32 random bytes, hex. */
  token?: string;
  env?: NodeJS.ProcessEnv;
  /** Called with a line for each session started and ended, or not started (the CLI prints them). */
  log?: (line: string) => void;
}

export interface Server {
  address: Address;
  token: string;
  /** Stops listening and ends every session (their children get SIGHUP). */
  close(): Promise<void>;
  /** The process ids of the sessions' children running now. */
  readonly pids: number[];
}

/** The first frame a client sends: its proof of the token over the server's nonce (handshake.ts). */
export function authFrame(token: string, serverNonce: Buffer): Buffer {
  return frame(AUTH, clientAuth(token, serverNonce));
}

/** What a server's connections share. */
interface ServeContext {
  readonly token: string;
  /** Listening on a Unix socket: peers are checked by uid. */
  readonly unix: boolean;
  readonly authTimeoutMs: number;
  readonly sessions: Sessions;
  readonly log: (line: string) => void;
}

/** What an authenticated connection's frames drive. */
interface SessionInput {
  input(payload: Buffer): void;
  resize(size: WinSize): void;
}

/** Starts a server; resolves once it listens. */
export async function serve(options: ServeOptions): Promise<Server> {
  const { maxSessions, maxPending, authTimeoutMs } = limitsOf(options);
  const token = options.token ?? newToken();
  const kq = new Kqueuer();
  const program = { command: options.command, args: options.args ?? [], env: options.env };
  const log = options.log ?? (() => {});
  const sessions = new Sessions(kq, program, maxSessions, log);
  const unix = options.listen !== undefined && 'path' in options.listen;
  const ctx: ServeContext = { token, unix, authTimeoutMs, sessions, log };
  const server = net.createServer((socket) => accept(ctx, socket));
  // Connections beyond these are closed as soon as they are accepted.
  server.maxConnections = maxSessions + maxPending;
  let address: Address;
  try {
    address = await listenOn(server, options.listen ?? { host: '127.0.0.1', port: 0 });
  } catch (err) {
    // EADDRINUSE, a live socket at the path: the Kqueuer made for the sessions goes too.
    kq.close();
    throw err;
  }
  return {
    address,
    token,
    get pids() {
      return sessions.pids;
    },
    async close() {
      // Waits for each session's programs to go (SIGKILL after the grace).
      const ended = sessions.endAll();
      const closed = once(server, 'close');
      server.close();
      // Sessions end when their children do.
      await Promise.all([closed, ended]);
      kq.close();
    },
  };
}

/**
 * A connection: the server's nonce goes out at once; the first frame must be
 * AUTH with the client's proof of the token (handshake.ts); nothing runs
 * before it. On a Unix socket, a peer of another user is refused first, by
 * the uid the kernel recorded at its connect(2).
 */
function accept(ctx: ServeContext, socket: net.Socket): void {
  if (ctx.unix && !sameUser(socket)) {
    socket.destroy();
    return;
  }
  let authed = false;
  const timer = setTimeout(() => socket.destroy(), ctx.authTimeoutMs);
  const serverNonce = nonce();
  socket.write(serverNonce);
  let session: SessionInput | null = null;
  const reader = new FrameReader((type, payload) => {
    if (!authed) {
      clearTimeout(timer);
      const answer = type === AUTH ? serverAnswer(ctx.token, serverNonce, payload) : null;
      if (answer === null) {
        socket.destroy(); // Nothing of the pty was sent, nothing will be.
        return;
      }
      authed = true;
      const opened = ctx.sessions.open();
      // Past the cap, or no pty or program (EMFILE, ENOENT): nothing to serve.
      if ('refused' in opened) {
        socket.destroy();
        return;
      }
      socket.write(answer);
      session = serveSession(ctx, socket, opened.child, opened.id);
      return;
    }
    if (type === DATA) session?.input(payload);
    else if (type === RESIZE && payload.length === 4) session?.resize({ rows: payload.readUInt16BE(0), cols: payload.readUInt16BE(2) });
  });
  socket.on('data', (data: Buffer) => {
    if (!reader.push(data)) socket.destroy();
  });
  socket.on('error', () => socket.destroy());
  socket.on('close', () => clearTimeout(timer));
}

function serveSession(ctx: ServeContext, socket: net.Socket, child: PtyProcess, id: number): SessionInput {
  const con = child.console;
  con.on('error', () => socket.destroy());
  // Backpressure from the socket to the child: pipe() stops reading the
  // pty while the socket's buffer is full; the console ends, and so the
  // socket, once the child has exited and all it wrote has gone out.
  con.pipe(socket);
  socket.on('close', () => ctx.sessions.close(child, id));
  // Input that the pty does not take at once waits in the stream; a
  // client that keeps sending past MAX_INPUT is cut off.
  const input = inputWriter(con, () => {
    ctx.log(`session ${id}: input not read; disconnecting`);
    socket.destroy();
  });
  return {
    input,
    // A no-op once the program's console is gone: a client may resize late.
    resize: (size) => void child.resize(size),
  };
}

/**
 * The client side: a Duplex of the remote pty's output and input. Nothing
 * is sent before the server has proven it knows the token (handshake.ts):
 * input and resizes written earlier wait; a server that fails the proof, or
 * on a Unix socket is another user's, destroys the client with an error.
 */
export class PtyClient extends Duplex {
  private readonly socket: net.Socket;
  private readonly handshake: ClientHandshake;
  /** What was written before the server proved itself, sent once it has. */
  private readonly held: (() => void)[] = [];

  constructor(address: Address, token: string) {
    super({ allowHalfOpen: false });
    this.handshake = new ClientHandshake(token);
    if ('path' in address) {
      this.socket = net.connect(address.path);
      this.socket.once('connect', () => {
        if (!sameUser(this.socket)) this.destroy(new Error(`${address.path}: the server there is not this user's`));
      });
    } else {
      this.socket = net.connect(address.port, address.host ?? '127.0.0.1');
    }
    this.socket.on('data', (data: Buffer) => this.received(data));
    this.socket.on('end', () => this.push(null));
    this.socket.on('error', (err) => this.destroy(err));
    this.socket.on('close', () => {
      this.push(null);
      this.destroy();
    });
  }

  private received(data: Buffer): void {
    const wasOpen = this.handshake.open;
    const { send, output, failed } = this.handshake.feed(data);
    if (failed) {
      this.destroy(new Error('the server did not prove that it knows the token: not the server meant'));
      return;
    }
    if (send !== undefined) this.socket.write(frame(AUTH, send));
    if (!wasOpen && this.handshake.open) for (const go of this.held.splice(0)) go();
    if (output !== undefined && !this.push(output)) this.socket.pause();
  }

  private whenOpen(go: () => void): void {
    if (this.handshake.open) go();
    else this.held.push(go);
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.whenOpen(() => this.socket.write(frame(DATA, chunk), cb));
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.whenOpen(() => {
      this.socket.end();
      cb();
    });
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.socket.destroy();
    cb(err);
  }

  /** Sends the window size; the program on the pty gets SIGWINCH. */
  resize(size: WinSize): void {
    const payload = Buffer.alloc(4);
    payload.writeUInt16BE(size.rows, 0);
    payload.writeUInt16BE(size.cols, 2);
    this.whenOpen(() => this.socket.write(frame(RESIZE, payload)));
  }
}

/**
 * Attaches this process's terminal to a served pty: raw mode on (restored on
 * exit), keys to the server, output to the screen, the window size sent at
 * attach and on every SIGWINCH. Resolves when the session ends.
 */
export async function attachTerminal(client: PtyClient): Promise<void> {
  const term = current();
  term.setRaw({ opost: false });
  const restore = (): void => term.reset();
  process.once('exit', restore);
  const sendSize = (): void => client.resize(term.size());
  sendSize();
  process.on('SIGWINCH', sendSize);
  process.stdin.pipe(client);
  client.pipe(process.stdout, { end: false });
  try {
    await once(client, 'close');
  } finally {
    process.off('SIGWINCH', sendSize);
    process.stdin.unpipe(client);
    process.stdin.pause();
    restore();
    process.off('exit', restore);
  }
}

interface Args extends Limits {
  mode: string;
  listen?: Address;
  tokenFile?: string;
  command: string[];
}

function parseArgs(argv: string[]): Args {
  const [mode, ...rest] = argv;
  const out: Args = { mode, command: [] };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === '--') {
      out.command = rest.slice(i + 1);
      break;
    } else if (a === '--port') out.listen = { host: '127.0.0.1', port: Number(rest[++i]) };
    else if (a === '--unix') out.listen = { path: rest[++i] };
    else if (a === '--token-file') out.tokenFile = rest[++i];
    else if (a === '--token') {
      throw new Error(
        `--token: a token on the command line is readable by every user of this machine (/proc/<pid>/cmdline); use ${TOKEN_ENV} or --token-file`,
      );
    } else if (!takeLimitFlag(out, a, rest[++i])) throw new Error(`unknown argument ${a}`);
  }
  return out;
}

/** The token from --token-file, else from the environment; undefined when neither gives one. */
function tokenFrom(args: { tokenFile?: string }): string | undefined {
  if (args.tokenFile !== undefined) return readTokenFile(args.tokenFile);
  const fromEnv = process.env[TOKEN_ENV];
  return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv;
}

async function main(argv: string[]): Promise<void> {
  const args = parseArgs(argv);
  if (args.mode === 'serve') {
    const [command, ...commandArgs] = args.command.length ? args.command : [process.env.SHELL ?? 'sh', '-i'];
    const given = tokenFrom(args);
    // The program gets this environment, less the token it may hold.
    const { [TOKEN_ENV]: _token, ...env } = process.env;
    const server = await serve({
      command,
      args: commandArgs,
      env,
      listen: args.listen,
      token: given,
      maxSessions: args.maxSessions,
      maxPending: args.maxPending,
      authTimeoutMs: args.authTimeoutMs,
      log: (line) => console.log(line),
    });
    const where = 'path' in server.address ? `--unix ${server.address.path}` : `--port ${server.address.port}`;
    console.log(`serving ${command} on ${where}`);
    const file = given === undefined ? writeTokenFile(server.token) : null;
    if (file !== null) {
      console.log(`token in ${file} (mode 0600)`);
      console.log(`attach with: node ${process.argv[1]} attach ${where} --token-file ${file}`);
    } else {
      console.log(`attach with: node ${process.argv[1]} attach ${where}, with the token in ${TOKEN_ENV} or --token-file`);
    }
    // SIGTERM too (kill's default): close() removes the Unix socket's file,
    // and the token file made here goes with it.
    const stop = (): void => {
      if (file !== null) fs.rmSync(path.dirname(file), { recursive: true, force: true });
      void server.close();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  } else if (args.mode === 'attach') {
    const token = tokenFrom(args);
    if (!args.listen || token === undefined)
      throw new Error(`attach needs --port or --unix, and the token in ${TOKEN_ENV} or --token-file`);
    await attachTerminal(new PtyClient(args.listen, token));
  } else {
    console.error(
      `usage: pipe-to-socket serve [--port N | --unix PATH] [--token-file F] ${LIMITS_USAGE} [-- command args...]\n` +
        '       pipe-to-socket attach (--port N | --unix PATH) [--token-file F]\n' +
        `The token: ${TOKEN_ENV}, or a file of mode 0600 (--token-file); never on the command line.`,
    );
    process.exitCode = 2;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: Error) => {
    console.error(err.message);
    process.exitCode = 1;
  });
}
