/**
 * The browser terminal on a server's sessions: xterm.js on a WebSocket,
 * served over HTTP on a loopback address (`web/` holds the page).
 *
 * Secure by default: requests whose Host is not this server's own are
 * refused (DNS rebinding); a WebSocket upgrade whose Origin is not this
 * server's is refused (cross-site WebSocket hijacking); the page sends the
 * token, which it reads from the URL's fragment (never sent in a request
 * line, so never in a log), as its first message, and until then no
 * program runs and no byte of a session is sent. A request, or a socket
 * that has not sent its token, has `authTimeoutMs` (slowloris).
 *
 * Messages from the page are JSON text: {type: 'auth', token, session?,
 * rows?, cols?} first, then {type: 'input', data}, {type: 'resize', rows,
 * cols}, {type: 'ack', bytes}; `session` is the id of the session the
 * tab had, `join` an id or name from the URL's fragment. To the page: {type: 'session', id, name,
 * role}, {type: 'snapshot', seq, rows, cols, data}, binary frames of
 * output (from `seq` on, in order), and {type: 'exit', code} at the end.
 * A page that names its session (a reload) reattaches to it as its
 * writer; one that joins a running session is its writer if the seat is
 * free, else a viewer; any other starts a session of its own.
 *
 * Flow control, as xterm.js's flow-control guide shapes it: the page
 * acknowledges output once xterm.js has parsed it, and a client's backlog
 * is what it has not acknowledged plus what the socket has yet to send;
 * the session holds the program back on the writer's backlog and cuts a
 * viewer over to a snapshot on its own (session.ts).
 * @module
 */
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type * as net from 'node:net';
import * as path from 'node:path';
import { pipeline } from 'node:stream';
import type { WebSocket, WebSocketServer } from 'ws';
import { codedError } from '../errors';
import { checkLoopback, tokenMatches, type LoopbackHost } from './access';
import { parseJson } from './frames';
import type { Attachment, ClientPort, Session } from './session';
import type { SessionTable } from './sessions';
import { sizeOf } from './protocol';

/** A client's backlog below which it has drained (the session's high marks: session.ts). */
export const LOW_WATER = 64 * 1024;
/** How often Node checks connections against the request timeout (its default is 30 s). */
const TIMEOUT_CHECK_MS = 1000;
const MAX_MESSAGE = 1 << 20;
/** How long a client the server has closed may take to close too, before its connection is cut. */
const CLOSE_GRACE_MS = 2000;

export interface WebOptions {
  /** Default 0: a free port. */
  port?: number;
  /** Default 127.0.0.1; only loopback addresses are accepted. */
  host?: LoopbackHost;
}

interface Packages {
  WebSocketServer: typeof WebSocketServer;
  files: Map<string, { file: string; type: string }>;
}

/** `ws`, xterm.js and its fit addon, the optional peers the page needs; an error that names the install when one is missing. */
function webPackages(): Packages {
  const page = path.join(__dirname, '..', '..', 'web');
  let ws: { WebSocketServer: typeof WebSocketServer };
  let xterm: string;
  let fit: string;
  try {
    /* eslint-disable @typescript-eslint/no-require-imports */
    ws = require('ws') as typeof ws;
    xterm = path.dirname(require.resolve('@xterm/xterm/package.json'));
    fit = path.dirname(require.resolve('@xterm/addon-fit/package.json'));
    /* eslint-enable @typescript-eslint/no-require-imports */
  } catch {
    throw codedError(
      'ERR_SCREEN_UNAVAILABLE',
      'the browser terminal needs ws, @xterm/xterm and @xterm/addon-fit: npm install ws @xterm/xterm @xterm/addon-fit',
    );
  }
  const js = 'text/javascript; charset=utf-8';
  const files = new Map([
    ['/', { file: path.join(page, 'index.html'), type: 'text/html; charset=utf-8' }],
    ['/app.js', { file: path.join(page, 'app.js'), type: js }],
    ['/xterm/xterm.js', { file: path.join(xterm, 'lib', 'xterm.js'), type: js }],
    ['/xterm/xterm.css', { file: path.join(xterm, 'css', 'xterm.css'), type: 'text/css; charset=utf-8' }],
    ['/xterm/addon-fit.js', { file: path.join(fit, 'lib', 'addon-fit.js'), type: js }],
  ]);
  return { WebSocketServer: ws.WebSocketServer, files };
}

/** What the web side of a server shares. */
interface Context {
  readonly host: LoopbackHost;
  /** The port it listens on: 0 until it does. */
  port: number;
  readonly tokenBytes: Buffer;
  readonly authTimeoutMs: number;
  readonly files: Packages['files'];
  readonly table: SessionTable;
  readonly wss: WebSocketServer;
  readonly log: (line: string) => void;
}

/** One side of a server (this, or serve.ts's socket): `stop()` takes no new connection; `close()` then drops those left, once the sessions have ended. */
export interface ServerEnd {
  stop(): void;
  close(): Promise<void>;
}

export interface WebEnd extends ServerEnd {
  /** The URL to open: the token is in the fragment. */
  readonly url: string;
  readonly port: number;
}

/** Serves the page and its WebSocket on `table`'s sessions; resolves once it listens. */
export async function serveWeb(
  table: SessionTable,
  options: WebOptions,
  shared: { token: string; authTimeoutMs: number; maxConnections: number; log: (line: string) => void },
): Promise<WebEnd> {
  const host = options.host ?? '127.0.0.1';
  checkLoopback(host);
  const { WebSocketServer: Wss, files } = webPackages();
  const wss = new Wss({ noServer: true, maxPayload: MAX_MESSAGE });
  const ctx: Context = {
    host,
    port: 0,
    tokenBytes: Buffer.from(shared.token),
    authTimeoutMs: shared.authTimeoutMs,
    files,
    table,
    wss,
    log: shared.log,
  };
  const server = http.createServer(
    { headersTimeout: ctx.authTimeoutMs, requestTimeout: ctx.authTimeoutMs, connectionsCheckingInterval: TIMEOUT_CHECK_MS },
    (req, res) => serveFile(ctx, req, res),
  );
  // Connections beyond these are closed as soon as they are accepted.
  server.maxConnections = shared.maxConnections;
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => upgrade(ctx, req, socket, head));
  server.listen(options.port ?? 0, host);
  await once(server, 'listening');
  ctx.port = (server.address() as net.AddressInfo).port;
  const shownHost = host === '::1' ? '[::1]' : host;
  const closed = new Promise((resolve) => server.once('close', resolve));
  return {
    url: `http://${shownHost}:${ctx.port}/#token=${shared.token}`,
    port: ctx.port,
    stop: () => server.close(),
    async close() {
      for (const ws of wss.clients) ws.terminate();
      server.closeAllConnections();
      await closed;
    },
  };
}

/** Whether a request names this server as its host; anything else is another site's page (DNS rebinding) or another origin's WebSocket. */
function ownHost(ctx: Context, req: http.IncomingMessage): boolean {
  const { port } = ctx;
  return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`].includes(req.headers.host ?? '');
}

/** The path of a request's URL, or null when it does not parse (`//[`: new URL() throws). */
function pathOf(req: http.IncomingMessage): string | null {
  try {
    return new URL(req.url ?? '/', 'http://x').pathname;
  } catch {
    return null;
  }
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
  // pipeline(), not pipe(): a client that goes mid-file closes the file too (pipe() leaves
  // it paused and open), and a read error ends the response instead of the process.
  pipeline(fs.createReadStream(entry.file), res, () => {});
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
    const msg = isBinary ? null : parseJson(data.toString());
    if (msg?.type !== 'auth' || !tokenMatches(msg.token, ctx.tokenBytes)) {
      closeClient(ws, 1008, 'wrong token');
      return;
    }
    const opened = openFor(ctx, msg);
    if (opened instanceof Error) {
      if ((opened as NodeJS.ErrnoException).code === 'ERR_SESSIONS_FULL') closeClient(ws, 1013, 'too many sessions');
      else closeClient(ws, 1011, 'no session');
      return;
    }
    serveClient(ctx, ws, opened, msg);
  });
  ws.on('close', () => clearTimeout(timer));
  ws.on('error', () => ws.terminate());
}

/** A session id or name as a page may send it, or undefined. */
function nameOf(value: unknown): string | undefined {
  return typeof value === 'string' && /^[\w.-]{1,64}$/.test(value) ? value : undefined;
}

/** The session the page had (a reload) or names (`#session=` in its URL), if it is running; else a new one. */
function openFor(ctx: Context, msg: Record<string, unknown>): Session | Error {
  const size = sizeOf(msg) ?? undefined;
  const named = nameOf(msg.session) ?? nameOf(msg.join);
  try {
    return (named !== undefined && ctx.table.find(named)) || ctx.table.choose({ op: 'attach', new: true, size });
  } catch (err) {
    ctx.log(`session not started: ${(err as Error).message}`);
    return err as Error;
  }
}

function serveClient(ctx: Context, ws: WebSocket, session: Session, msg: Record<string, unknown>): void {
  const port = new WebPort(ws, (sent) => ctx.log(`session ${session.name}: ${sent} bytes of output sent`));
  // Its own session, reloaded: the writer's seat is its, whoever holds it.
  const reattach = msg.session === session.id;
  const client: Attachment = session.attach(port, true, sizeOf(msg) ?? undefined, reattach);
  ws.send(JSON.stringify({ type: 'session', id: session.id, name: session.name, role: client.role }));
  ws.on('close', () => {
    port.report();
    session.detach(client);
  });
  ws.on('message', (data, isBinary) => {
    const m = isBinary || port.closing ? null : parseJson(data.toString());
    if (m === null) return;
    if (m.type === 'input' && typeof m.data === 'string') {
      // Past MAX_INPUT unread, the session closes the writer's port: 1009.
      session.write(client, Buffer.from(m.data));
    } else if (m.type === 'resize') {
      const size = sizeOf(m);
      if (size !== null) session.resize(client, size);
    } else if (m.type === 'ack' && Number.isSafeInteger(m.bytes) && (m.bytes as number) > 0) {
      port.ack(m.bytes as number);
    }
  });
}

/**
 * A session's way to one page. Its backlog is what the page has not
 * acknowledged and what the socket has yet to send (a page that
 * acknowledges without reading): bounded whatever the page does.
 */
class WebPort implements ClientPort {
  private sent = 0;
  private acked = 0;
  private waiting: (() => void)[] = [];
  private reported = false;
  closing = false;

  /** `report` is told, once, how many bytes of output went to the page (at the exit, or when it goes). */
  constructor(
    private readonly ws: WebSocket,
    private readonly reportSent: (bytes: number) => void,
  ) {}

  report(): void {
    if (this.reported) return;
    this.reported = true;
    this.reportSent(this.sent);
  }

  get backlog(): number {
    return this.sent - this.acked + this.ws.bufferedAmount;
  }

  snapshot(seq: number, screen: string, size: { rows: number; cols: number }): void {
    this.ws.send(JSON.stringify({ type: 'snapshot', seq, rows: size.rows, cols: size.cols, data: screen }));
  }

  output(_seq: number, chunk: Buffer): void {
    this.sent += chunk.length;
    this.ws.send(chunk, { binary: true }, () => this.check());
  }

  exit(code: number | null, signal: string | null): void {
    this.ws.send(JSON.stringify({ type: 'exit', code: code ?? (signal !== null ? 128 : 1) }));
    this.report();
    this.end(1000, 'exited');
  }

  whenDrained(go: () => void): void {
    this.waiting.push(go);
    this.check();
  }

  close(why: 'ended' | 'input' = 'ended'): void {
    this.end(why === 'input' ? 1009 : 1000, why === 'input' ? 'input not read' : 'session ended');
  }

  /** The page has parsed `bytes` more; more than was sent is a lie that would lift the hold-back for good. */
  ack(bytes: number): void {
    if (this.acked + bytes > this.sent) {
      this.end(1008, 'acknowledged more than was sent');
      return;
    }
    this.acked += bytes;
    this.check();
  }

  private check(): void {
    if (this.waiting.length === 0 || this.backlog >= LOW_WATER) return;
    for (const go of this.waiting.splice(0)) go();
  }

  private end(code: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    closeClient(this.ws, code, reason);
  }
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
