/**
 * {@link serveSessions}: sessions that outlive their clients, served on a
 * Unix socket (this user's peers only, by the uid the kernel recorded:
 * SO_PEERCRED, getpeereid) or on a loopback port (the token's proof,
 * handshake.ts, before any byte of a session flows).
 * @module
 */
import * as net from 'node:net';
import { Kqueuer } from '../kqueuer/kqueuer';
import { codedError } from '../errors';
import { validateInteger } from '../validators';
import type { WinSize } from '../tty/console';
import { listenOn, newToken, sameUser, type Address } from './access';
import { FrameReader, jsonFrame, parseJson } from './frames';
import { nonce, serverAnswer } from './handshake';
import { screenPackages } from './mirror';
import * as P from './protocol';
import type { Attachment, ClientPort, Session, SessionInfo } from './session';
import { SessionTable } from './sessions';
import { serveWeb, type ServerEnd, type WebEnd, type WebOptions } from './web';

export interface SessionServerOptions {
  /** The program each session runs, and its arguments. */
  command: string;
  args?: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** A Unix socket's path, or a loopback port (0: any free one). */
  listen?: Address;
  /** The browser terminal on the same sessions: HTTP on a loopback port (needs ws, @xterm/xterm, @xterm/addon-fit). */
  web?: WebOptions;
  /** On a port, the token clients prove they know; default 32 random bytes, hex. */
  token?: string;
  /** How long a session with no client lives on, in ms; 0 ends it with its last client. Default 15 minutes. */
  lingerMs?: number;
  /** Sessions at once. Default 8. */
  maxSessions?: number;
  /** Connections beside one per session (viewers, and those not attached yet); past them new ones are dropped. Default 16. */
  maxPending?: number;
  /** How long a connection has to authenticate and say what it wants. Default 5000 ms. */
  authTimeoutMs?: number;
  /** Lines of scrollback each session's screen keeps. Default 1000. */
  scrollback?: number;
  /** Called with a line for each session started and ended. */
  log?: (line: string) => void;
}

export interface SessionServer {
  /** Where the socket listens (when `listen` was given). */
  readonly address: Address | undefined;
  /** The browser terminal's URL, the token in its fragment, and port (when `web` was given). */
  readonly web: { readonly url: string; readonly port: number } | undefined;
  /** Sessions started so far. */
  readonly sessionsStarted: number;
  /** The token a client on the port proves it knows (on a Unix socket, unused). */
  readonly token: string;
  /** The sessions, the most recently active first. */
  list(): SessionInfo[];
  /** Stops listening and ends every session (the session-wide hang-up). */
  close(): Promise<void>;
}

export const DEFAULT_LINGER_MS = 15 * 60_000;

interface Context {
  readonly token: string;
  readonly unix: boolean;
  readonly authTimeoutMs: number;
  readonly table: SessionTable;
  readonly log: (line: string) => void;
}

/** The options' limits, checked, with their defaults. */
function limitsOf(options: SessionServerOptions): {
  lingerMs: number;
  maxSessions: number;
  maxPending: number;
  authTimeoutMs: number;
  scrollback: number;
} {
  const int = (v: number | undefined, name: string, dflt: number, min: number, max: number): number =>
    validateInteger(v ?? dflt, `options.${name}`, min, max);
  return {
    lingerMs: int(options.lingerMs, 'lingerMs', DEFAULT_LINGER_MS, 0, 2 ** 31 - 1),
    maxSessions: int(options.maxSessions, 'maxSessions', 8, 1, 1 << 16),
    maxPending: int(options.maxPending, 'maxPending', 16, 1, 1 << 16),
    authTimeoutMs: int(options.authTimeoutMs, 'authTimeoutMs', 5000, 1, 2 ** 31 - 1),
    scrollback: int(options.scrollback, 'scrollback', 1000, 0, 1_000_000),
  };
}

/**
 * Starts a session server on a socket (`listen`), in the browser (`web`),
 * or both on the same sessions; resolves once it listens.
 * @throws ERR_SCREEN_UNAVAILABLE without the screen's (or the page's) optional peers; EADDRINUSE.
 */
export function serveSessions(options: SessionServerOptions & { listen: Address }): Promise<SessionServer & { readonly address: Address }>;
export function serveSessions(options: SessionServerOptions): Promise<SessionServer>;
export async function serveSessions(options: SessionServerOptions): Promise<SessionServer> {
  const limits = limitsOf(options);
  if (options.listen === undefined && options.web === undefined) throw codedError('ERR_INVALID_ARG_VALUE', 'options: listen, web, or both');
  const log = options.log ?? (() => {});
  // A server that could keep no session's screen fails now, not at its first client.
  screenPackages();
  const kqueuer = new Kqueuer();
  const program = { command: options.command, args: options.args ?? [], env: options.env, cwd: options.cwd };
  const table = new SessionTable({ kqueuer, program, log, ...limits });
  const token = options.token ?? newToken();
  // A client per session and maxPending more (viewers, pages loading, connections yet to
  // authenticate), on each side; past them new connections are dropped as they are accepted.
  const maxConnections = limits.maxSessions + limits.maxPending;
  const ends: ServerEnd[] = [];
  let address: Address | undefined;
  let web: WebEnd | undefined;
  try {
    if (options.listen !== undefined) {
      const ctx: Context = { token, unix: 'path' in options.listen, authTimeoutMs: limits.authTimeoutMs, table, log };
      const end = await listenSessions(ctx, options.listen, maxConnections);
      ends.push(end);
      address = end.address;
    }
    if (options.web !== undefined)
      ends.push((web = await serveWeb(table, options.web, { token, authTimeoutMs: limits.authTimeoutMs, maxConnections, log })));
  } catch (err) {
    for (const e of ends) e.stop();
    await Promise.all(ends.map((e) => e.close()));
    kqueuer.close();
    throw err;
  }
  return {
    address,
    web,
    token,
    get sessionsStarted() {
      return table.started;
    },
    list: () => table.list(),
    async close() {
      // No new connection; the sessions end, telling their clients; then the connections go.
      for (const e of ends) e.stop();
      await table.endAll();
      await Promise.all(ends.map((e) => e.close()));
      kqueuer.close();
    },
  };
}

/** The socket side: listens, and ends every connection at close. */
async function listenSessions(ctx: Context, listen: Address, maxConnections: number): Promise<ServerEnd & { address: Address }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    accept(ctx, socket);
  });
  server.maxConnections = maxConnections;
  const address = await listenOn(server, listen);
  const closed = new Promise((resolve) => server.once('close', resolve));
  return {
    address,
    stop: () => server.close(),
    async close() {
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

/**
 * A connection: on a port, the server's nonce at once and the client's
 * proof as its first frame; on a Unix socket, a peer of another user is
 * dropped unheard. Then one HELLO: a list, or an attach.
 */
function accept(ctx: Context, socket: net.Socket): void {
  if (ctx.unix && !sameUser(socket)) {
    socket.destroy();
    return;
  }
  const timer = setTimeout(() => socket.destroy(), ctx.authTimeoutMs);
  const serverNonce = ctx.unix ? null : nonce();
  if (serverNonce !== null) socket.write(serverNonce);
  let stage: 'auth' | 'hello' | 'attached' = ctx.unix ? 'hello' : 'auth';
  let attached: { session: Session; client: Attachment } | null = null;
  const reader = new FrameReader((type, payload) => {
    if (stage === 'auth') {
      const answer = type === P.AUTH && serverNonce !== null ? serverAnswer(ctx.token, serverNonce, payload) : null;
      if (answer === null) return void socket.destroy();
      socket.write(answer);
      stage = 'hello';
    } else if (stage === 'hello') {
      clearTimeout(timer);
      attached = hello(ctx, socket, type === P.HELLO ? P.parseHello(parseJson(payload)) : null);
      stage = 'attached';
    } else if (attached !== null) {
      frameFromClient(attached.session, attached.client, type, payload);
    }
  });
  socket.on('data', (data: Buffer) => {
    if (!reader.push(data)) socket.destroy();
  });
  socket.on('error', () => socket.destroy());
  socket.on('close', () => {
    clearTimeout(timer);
    if (attached !== null) attached.session.detach(attached.client);
  });
}

function frameFromClient(session: Session, client: Attachment, type: number, payload: Buffer): void {
  if (type === P.DATA) session.write(client, payload);
  else if (type === P.RESIZE && payload.length === 4) {
    const size = P.sizeOf({ rows: payload.readUInt16BE(0), cols: payload.readUInt16BE(2) });
    if (size !== null) session.resize(client, size);
  }
}

/** Answers a HELLO: the list, or the session attached; a refusal names why, with a stable code. */
function hello(ctx: Context, socket: net.Socket, asked: P.Hello | null): { session: Session; client: Attachment } | null {
  if (asked === null) {
    socket.end(jsonFrame(P.REFUSED, { code: 'ERR_PROTOCOL', message: 'expected a HELLO' }));
    return null;
  }
  if (asked.op === 'list') {
    socket.end(jsonFrame(P.LIST, ctx.table.list()));
    return null;
  }
  let session: Session;
  try {
    session = ctx.table.choose(asked);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    ctx.log(`session not started: ${e.message}`);
    socket.end(jsonFrame(P.REFUSED, { code: e.code ?? 'ERR_SPAWN', message: e.message }));
    return null;
  }
  const client = session.attach(socketPort(socket), !asked.readOnly, asked.size);
  socket.write(jsonFrame(P.WELCOME, { id: session.id, name: session.name, role: client.role }));
  return { session, client };
}

/** A session's way to one socket. */
function socketPort(socket: net.Socket): ClientPort {
  return {
    snapshot: (seq: number, screen: string, size: WinSize) => void socket.write(P.snapshotFrame(seq, size, screen)),
    output: (seq: number, chunk: Buffer) => void socket.write(P.outputFrame(seq, chunk)),
    exit: (code, signal) => void socket.end(jsonFrame(P.EXIT, { code, signal })),
    get backlog() {
      return socket.writableLength;
    },
    whenDrained: (go) => {
      if (socket.writableLength === 0) queueMicrotask(go);
      else socket.once('drain', go);
    },
    close: (why) => void (why === 'input' ? socket.destroy() : socket.end()),
  };
}
