// A web terminal: a shell on a pty per browser tab, over a WebSocket, drawn
// by xterm.js, with flow control from the pty to the page.
//
//   npm run web [-- --port N] [-- command args...]
//
// Secure by default: HTTP on 127.0.0.1 only; requests whose Host is not
// this server's own are refused (DNS rebinding); a WebSocket upgrade whose
// Origin is not this server's is refused (cross-site WebSocket hijacking);
// and the page must send the random token, which it reads from the URL's
// fragment (never sent in a request line, so never in a log), as its first
// message: until then no shell runs and no byte of a pty is sent.
//
// Flow control, as xterm.js's flow-control guide shapes it: pty output goes
// to the page as binary frames, the page acknowledges bytes once xterm.js
// has parsed them (write(data, callback)), and the server stops reading the
// console while more than HIGH_WATER bytes are unacknowledged, resuming
// below LOW_WATER. The console's own backpressure then stops the child in
// write(), so a flood costs neither the server's memory nor the browser's.
//
// Messages from the page are JSON text frames: {type: 'auth', token},
// {type: 'input', data}, {type: 'resize', rows, cols}, {type: 'ack', bytes}.
// To the page: binary frames of output, and {type: 'exit', code} at the end.
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type * as net from 'node:net';
import * as path from 'node:path';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { DEFAULT_TERM, Kqueuer, type PtyProcess } from 'kqueue-console';
import { checkLoopback, inputWriter, newToken, tokenMatches, type LoopbackHost } from 'kqueue-console/server';
import { LIMITS_USAGE, Sessions, limitsOf, takeLimitFlag, type Limits } from './shell-server';

/** Unacknowledged bytes above which the console is paused, and below which it resumes. */
export const HIGH_WATER = 256 * 1024;
export const LOW_WATER = 64 * 1024;
/** How often Node checks connections against that timeout (its default is 30 s). */
const TIMEOUT_CHECK_MS = 1000;
const MAX_MESSAGE = 1 << 20;
/** How long a client the server has closed may take to close too, before its connection is cut. */
const CLOSE_GRACE_MS = 2000;

export interface WebTerminalOptions extends Limits {
  /** The program each connection runs, and its arguments. Default: $SHELL -i (or sh -i). */
  command?: string;
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** Default 0: a free port. */
  port?: number;
  /** Default 127.0.0.1; only loopback addresses are accepted. */
  host?: LoopbackHost;
  /** Default: 32 random bytes, hex. */
  token?: string;
  /** Called with a line for each session started and ended (the CLI prints them). */
  log?: (line: string) => void;
}

export interface WebTerminal {
  /** The URL to open: the token is in the fragment. */
  url: string;
  port: number;
  token: string;
  /** Sessions started so far (a wrong token starts none). */
  readonly sessionsStarted: number;
  /** Stops listening and ends every session. */
  close(): Promise<void>;
}

/** Where the page's files are: beside this file in examples/, or in examples/ when run from dist/. */
function pageDir(): string {
  for (const dir of [path.join(__dirname, 'web-terminal'), path.join(__dirname, '..', '..', 'examples', 'web-terminal')]) {
    if (fs.existsSync(path.join(dir, 'index.html'))) return dir;
  }
  throw new Error('the web terminal page (examples/web-terminal/) was not found');
}

/** The files the page loads, by URL path: its own two and xterm.js's, straight from node_modules. */
function staticFiles(): Map<string, { file: string; type: string }> {
  const dir = pageDir();
  const xterm = path.dirname(require.resolve('@xterm/xterm/package.json'));
  const fit = path.dirname(require.resolve('@xterm/addon-fit/package.json'));
  return new Map([
    ['/', { file: path.join(dir, 'index.html'), type: 'text/html; charset=utf-8' }],
    ['/app.js', { file: path.join(dir, 'app.js'), type: 'text/javascript; charset=utf-8' }],
    ['/xterm/xterm.js', { file: path.join(xterm, 'lib', 'xterm.js'), type: 'text/javascript; charset=utf-8' }],
    ['/xterm/xterm.css', { file: path.join(xterm, 'css', 'xterm.css'), type: 'text/css; charset=utf-8' }],
    ['/xterm/addon-fit.js', { file: path.join(fit, 'lib', 'addon-fit.js'), type: 'text/javascript; charset=utf-8' }],
  ]);
}

/** The path of a request's URL, or null when it does not parse (`//[`: new URL() throws). */
function pathOf(req: http.IncomingMessage): string | null {
  try {
    return new URL(req.url ?? '/', 'http://x').pathname;
  } catch {
    return null;
  }
}

/** What every part of a running web terminal shares. */
interface Context {
  readonly host: LoopbackHost;
  /** The port it listens on: 0 until it does. */
  port: number;
  readonly token: string;
  readonly tokenBytes: Buffer;
  readonly authTimeoutMs: number;
  readonly files: Map<string, { file: string; type: string }>;
  readonly kq: Kqueuer;
  readonly sessions: Sessions;
  readonly wss: WebSocketServer;
  readonly log: (line: string) => void;
}

/** Starts the server; resolves once it listens. */
export async function startWebTerminal(options: WebTerminalOptions = {}): Promise<WebTerminal> {
  const ctx = contextOf(options);
  const server = httpServer(ctx, limitsOf(options));
  server.listen(options.port ?? 0, ctx.host);
  try {
    await once(server, 'listening');
  } catch (err) {
    // EADDRINUSE, EACCES: the Kqueuer made for the sessions goes with the server.
    ctx.kq.close();
    throw err;
  }
  ctx.port = (server.address() as net.AddressInfo).port;
  return handleOf(ctx, server);
}

function contextOf(options: WebTerminalOptions): Context {
  const host = options.host ?? '127.0.0.1';
  checkLoopback(host);
  const { maxSessions, authTimeoutMs } = limitsOf(options);
  const token = options.token ?? newToken();
  const command = options.command ?? process.env.SHELL ?? 'sh';
  const args = options.args ?? (options.command === undefined ? ['-i'] : []);
  const log = options.log ?? (() => {});
  const files = staticFiles();
  const kq = new Kqueuer();
  const program = { command, args, env: options.env ?? { ...process.env, TERM: DEFAULT_TERM } };
  const sessions = new Sessions(kq, program, maxSessions, log);
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE });
  return { host, port: 0, token, tokenBytes: Buffer.from(token), authTimeoutMs, files, kq, sessions, wss, log };
}

/**
 * The HTTP server: the page's files, and the upgrade to the WebSocket. A
 * request that has not arrived whole within authTimeoutMs is cut, as a
 * WebSocket that has not sent its token is: a slow client (slowloris) holds
 * nothing for long.
 */
function httpServer(ctx: Context, limits: { maxSessions: number; maxPending: number }): http.Server {
  const { authTimeoutMs } = ctx;
  const server = http.createServer(
    { headersTimeout: authTimeoutMs, requestTimeout: authTimeoutMs, connectionsCheckingInterval: TIMEOUT_CHECK_MS },
    (req, res) => serveFile(ctx, req, res),
  );
  // Connections beyond these are closed as soon as they are accepted.
  server.maxConnections = limits.maxSessions + limits.maxPending;
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => upgrade(ctx, req, socket, head));
  return server;
}

/**
 * Whether a request names this server as its host; anything else is another
 * site's page (DNS rebinding) or another origin's WebSocket.
 */
function ownHost(ctx: Context, req: http.IncomingMessage): boolean {
  const { port } = ctx;
  return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`].includes(req.headers.host ?? '');
}

function serveFile(ctx: Context, req: http.IncomingMessage, res: http.ServerResponse): void {
  const urlPath = pathOf(req);
  if (urlPath === null) {
    res.writeHead(400, { 'content-type': 'text/plain' }).end();
    return;
  }
  const entry = req.method === 'GET' && ownHost(ctx, req) ? ctx.files.get(urlPath) : undefined;
  if (entry === undefined) {
    res.writeHead(ownHost(ctx, req) ? 404 : 421, { 'content-type': 'text/plain' }).end();
    return;
  }
  res.writeHead(200, {
    'content-type': entry.type,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
  });
  fs.createReadStream(entry.file).pipe(res);
}

function upgrade(ctx: Context, req: http.IncomingMessage, socket: net.Socket, head: Buffer): void {
  const urlPath = pathOf(req);
  if (urlPath === null) {
    socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    return;
  }
  const sameOrigin = ownHost(ctx, req) && req.headers.origin === `http://${req.headers.host}`;
  if (urlPath !== '/ws' || !sameOrigin) {
    socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
    return;
  }
  ctx.wss.handleUpgrade(req, socket, head, (ws) => awaitToken(ctx, ws));
}

/** The first message must carry the token; nothing runs before it. */
function awaitToken(ctx: Context, ws: WebSocket): void {
  const timer = setTimeout(() => closeClient(ws, 1008, 'no token'), ctx.authTimeoutMs);
  ws.once('message', (data, isBinary) => {
    clearTimeout(timer);
    const msg = isBinary ? null : parse(data);
    if (msg?.type !== 'auth' || !tokenMatches(msg.token, ctx.tokenBytes)) {
      closeClient(ws, 1008, 'wrong token');
      return;
    }
    const opened = ctx.sessions.open();
    if ('refused' in opened) {
      if (opened.refused === 'full') closeClient(ws, 1013, 'too many sessions');
      else closeClient(ws, 1011, 'no session');
      return;
    }
    serveSession(ctx, new Session(ctx, ws, opened.child, opened.id));
  });
  ws.on('close', () => clearTimeout(timer));
  ws.on('error', () => ws.terminate());
}

/**
 * One page's session: its program, and the output it has been sent and has
 * acknowledged. Output is held back while the page has more than HIGH_WATER
 * bytes to acknowledge, or the socket more than HIGH_WATER bytes to send (a
 * page that acknowledges without reading): what a session queues is bounded
 * whatever the client does.
 */
class Session {
  private sent = 0;
  private acked = 0;
  private paused = false;
  private closing = false;

  constructor(
    private readonly ctx: Context,
    readonly ws: WebSocket,
    readonly child: PtyProcess,
    readonly id: number,
  ) {}

  get isClosing(): boolean {
    return this.closing;
  }

  /** The bytes of output sent to the page. */
  get bytesSent(): number {
    return this.sent;
  }

  /** Sends a chunk of output, and pauses the console past the high-water mark. */
  output(chunk: Buffer): void {
    this.ws.send(chunk, { binary: true }, () => this.maybeResume());
    this.sent += chunk.length;
    if (!this.paused && this.holdBack()) {
      this.paused = true;
      this.child.console.pause();
    }
  }

  /** The page has parsed `bytes` more; more than was sent is a lie that would lift the hold-back for good. */
  ack(bytes: number): void {
    if (this.acked + bytes > this.sent) {
      this.close(1008, 'acknowledged more than was sent');
      return;
    }
    this.acked += bytes;
    this.maybeResume();
  }

  close(code: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    this.ctx.log(`session ${this.id}: closing (${code} ${reason})`);
    closeClient(this.ws, code, reason);
  }

  private holdBack(): boolean {
    return this.sent - this.acked > HIGH_WATER || this.ws.bufferedAmount > HIGH_WATER;
  }

  private maybeResume(): void {
    if (this.paused && !this.closing && this.sent - this.acked < LOW_WATER && this.ws.bufferedAmount < LOW_WATER) {
      this.paused = false;
      this.child.console.resume();
    }
  }
}

function serveSession(ctx: Context, session: Session): void {
  const { ws, child } = session;
  const con = child.console;
  con.on('data', (chunk: Buffer) => session.output(chunk));
  con.on('error', () => ws.terminate());
  // Input that the pty does not take at once waits in the stream; a page
  // that keeps sending past MAX_INPUT is cut off. (A child blocked on
  // output would never read its input: cat with a paste.)
  const writeInput = inputWriter(con, () => session.close(1009, 'input not read'));
  // The console ends by itself once the shell has exited and the page has
  // taken all it wrote; then the page is told how it ended.
  con.on('end', () => {
    void child.exited.then(({ exitCode, signal }) => {
      ws.send(JSON.stringify({ type: 'exit', code: exitCode ?? (signal !== null ? 128 : 1) }));
      ws.close(1000, 'exited');
    });
  });
  ws.on('close', () => {
    ctx.log(`session ${session.id}: ${session.bytesSent} bytes of output sent`);
    ctx.sessions.close(child, session.id);
  });
  ws.on('message', (data, isBinary) => {
    if (session.isClosing) return;
    const msg = isBinary ? null : parse(data);
    if (msg !== null) onMessage(session, msg, writeInput);
  });
}

/** A message from the page, once authenticated: input, a resize, or an acknowledgement. */
function onMessage(session: Session, msg: Record<string, unknown>, writeInput: (data: string) => void): void {
  if (msg.type === 'input' && typeof msg.data === 'string') {
    writeInput(msg.data);
  } else if (msg.type === 'resize' && isDimension(msg.rows) && isDimension(msg.cols)) {
    // False, and nothing done, once the program's console is gone: a page
    // resizes whenever its window does, exit or no exit.
    session.child.resize({ rows: msg.rows, cols: msg.cols });
  } else if (msg.type === 'ack' && Number.isSafeInteger(msg.bytes) && (msg.bytes as number) > 0) {
    session.ack(msg.bytes as number);
  }
}

/** What startWebTerminal() returns: its URL, and how to stop it. */
function handleOf(ctx: Context, server: http.Server): WebTerminal {
  const { host, port, token, sessions, wss, kq } = ctx;
  const shownHost = host === '::1' ? '[::1]' : host;
  return {
    url: `http://${shownHost}:${port}/#token=${token}`,
    port,
    token,
    get sessionsStarted() {
      return sessions.count;
    },
    async close() {
      // Waits for each session's programs to go (SIGKILL after the grace).
      const ended = sessions.endAll();
      for (const ws of wss.clients) ws.terminate();
      const closed = once(server, 'close');
      server.close();
      server.closeAllConnections();
      await Promise.all([closed, ended]);
      kq.close();
    },
  };
}

/**
 * Closes a client: once the server closes, it reads nothing more from it,
 * and cuts the connection if the client has not closed too within
 * CLOSE_GRACE_MS (ws would wait 30 s for its close frame).
 */
function closeClient(ws: WebSocket, code: number, reason: string): void {
  ws.close(code, reason);
  ws.pause();
  setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
}

function parse(data: RawData): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(data.toString());
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function isDimension(v: unknown): v is number {
  return Number.isInteger(v) && (v as number) > 0 && (v as number) <= 0xffff;
}

async function main(argv: string[]): Promise<void> {
  const options: WebTerminalOptions = { log: (line) => console.log(line) };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      [options.command, ...options.args] = argv.slice(i + 1);
      break;
    } else if (a === '--port') options.port = Number(argv[++i]);
    else if (a === '--host') options.host = argv[++i] as WebTerminalOptions['host'];
    else if (!takeLimitFlag(options, a, argv[++i]))
      throw new Error(`unknown argument ${a}; usage: web-terminal [--port N] [--host 127.0.0.1] ${LIMITS_USAGE} [-- command args...]`);
  }
  const term = await startWebTerminal(options);
  console.log(`web terminal: open ${term.url}`);
  process.once('SIGINT', () => void term.close());
  process.once('SIGTERM', () => void term.close());
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: Error) => {
    console.error(err.message);
    process.exitCode = 1;
  });
}
