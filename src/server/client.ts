/**
 * The client of {@link serveSessions}: {@link SessionClient} attaches to a
 * session and checks the seam (every OUTPUT starts where the snapshot or
 * the last OUTPUT ended: anything else is an `ERR_PROTOCOL` error, not a
 * screen silently wrong); {@link listSessions} asks for the list.
 * @module
 */
import { EventEmitter, once } from 'node:events';
import * as net from 'node:net';
import { Duplex } from 'node:stream';
import { codedError } from '../errors';
import type { WinSize } from '../tty/console';
import { sameUser, type Address } from './access';
import { FrameReader, frame, jsonFrame, parseJson } from './frames';
import { ClientHandshake } from './handshake';
import * as P from './protocol';
import type { Role, SessionInfo } from './session';

/** The longest snapshot a client takes: a 200×50 screen with 10,000 lines of colour fits many times. */
const MAX_SNAPSHOT = 64 << 20;

export interface AttachOptions {
  /** A session's id or name; a name not in use starts a session of that name. */
  session?: string;
  /** Always start a new session. */
  new?: boolean;
  /** Watch: never the writer, input is not sent. */
  readOnly?: boolean;
  /** The window size the writer gives the pty. */
  size?: WinSize;
  /** On a port: the server's token. */
  token?: string;
}

export interface Welcome {
  id: string;
  name: string;
  role: Role;
}

/**
 * One client. Events: `'welcome'` (Welcome), `'screen'` (screen: string,
 * size, seq), `'output'` (chunk: Buffer, seq), `'exit'` (code, signal),
 * `'close'` (the error, or undefined). The snapshot may come in the same
 * read as the welcome: listen before the connection is made, as
 * {@link attachSession} does.
 */
export class SessionClient extends EventEmitter {
  private readonly socket: net.Socket;
  private readonly handshake: ClientHandshake | null;
  private readonly reader: FrameReader;
  /** The sequence number the next OUTPUT must start at; null before the first snapshot. */
  private next: number | null = null;
  private error: Error | undefined;
  /** Input and sizes written before the HELLO went (before the server proved itself): sent after it. */
  private held: Buffer[] | null = [];

  constructor(
    address: Address,
    private readonly hello: Record<string, unknown>,
    token?: string,
  ) {
    super();
    this.reader = new FrameReader((type, payload) => this.frame(type, payload), MAX_SNAPSHOT);
    if ('path' in address) {
      this.handshake = null;
      this.socket = net.connect(address.path, () => {
        if (!sameUser(this.socket)) this.fail(codedError('ERR_PROTOCOL', `${address.path}: the server there is not this user's`));
        else this.sayHello();
      });
    } else {
      if (token === undefined) throw codedError('ERR_INVALID_ARG_VALUE', 'a server on a port needs its token');
      this.handshake = new ClientHandshake(token);
      this.socket = net.connect(address.port, address.host ?? '127.0.0.1');
    }
    this.socket.on('data', (data: Buffer) => this.received(data));
    this.socket.on('error', (err) => this.fail(err));
    this.socket.on('close', () => this.emit('close', this.error));
  }

  /** Input to the session's program (dropped by the server for a viewer). */
  write(data: string | Uint8Array): void {
    this.send(frame(P.DATA, typeof data === 'string' ? Buffer.from(data) : data));
  }

  /** The writer's window size becomes the pty's. */
  resize(size: WinSize): void {
    this.send(frame(P.RESIZE, P.resizePayload(size)));
  }

  /** Nothing but the proof goes to a server before it has proven itself (or, on a Unix socket, shown its uid). */
  private send(bytes: Buffer): void {
    if (this.held === null) this.socket.write(bytes);
    else this.held.push(bytes);
  }

  private sayHello(): void {
    this.socket.write(jsonFrame(P.HELLO, this.hello));
    for (const bytes of this.held ?? []) this.socket.write(bytes);
    this.held = null;
  }

  /** Detaches: the session goes on. */
  close(): void {
    this.socket.end();
  }

  /** Drops the connection at once (the session goes on). */
  destroy(): void {
    this.socket.destroy();
  }

  /** Stops reading output: the server's bound on this client then applies. */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  private received(data: Buffer): void {
    let bytes: Buffer | undefined = data;
    if (this.handshake !== null && !this.handshake.open) {
      const { send, output, failed } = this.handshake.feed(data);
      if (failed) return this.fail(codedError('ERR_PROTOCOL', 'the server did not prove that it knows the token'));
      if (send !== undefined) this.socket.write(frame(P.AUTH, send));
      if (this.handshake.open) this.sayHello();
      bytes = output;
    }
    if (bytes !== undefined && !this.reader.push(bytes)) this.fail(codedError('ERR_PROTOCOL', 'a frame longer than a client takes'));
  }

  private frame(type: number, payload: Buffer): void {
    if (type === P.OUTPUT && payload.length >= 8) {
      const seq = payload.readDoubleBE(0);
      if (seq !== this.next)
        return this.fail(codedError('ERR_PROTOCOL', `output at ${seq} where ${this.next} was due: bytes lost or repeated`));
      this.next = seq + payload.length - 8;
      this.emit('output', payload.subarray(8), seq);
    } else if (type === P.SNAPSHOT && payload.length >= 12) {
      this.next = payload.readDoubleBE(0);
      const size = { rows: payload.readUInt16BE(8), cols: payload.readUInt16BE(10) };
      this.emit('screen', payload.subarray(12).toString('utf8'), size, this.next);
    } else if (type === P.WELCOME) this.emit('welcome', parseJson(payload));
    else if (type === P.EXIT) {
      const exit = parseJson(payload) ?? {};
      this.emit('exit', exit.code ?? null, exit.signal ?? null);
    } else if (type === P.REFUSED) {
      const why = parseJson(payload) ?? {};
      this.fail(codedError(String(why.code ?? 'ERR_PROTOCOL') as 'ERR_PROTOCOL', String(why.message ?? 'refused')));
    } else this.emit('frame', type, payload);
  }

  private fail(err: Error): void {
    this.error ??= err;
    this.socket.destroy();
  }
}

/** What a client of a session does with what the server sends. */
export interface SessionHandlers {
  screen(screen: string, size: WinSize, seq: number): void;
  output(chunk: Buffer, seq: number): void;
  exit?(code: number | null, signal: string | null): void;
}

/**
 * Attaches to a session; resolves with the client once the server has said
 * which session and role. The handlers are listening from the start.
 * @throws ERR_NO_SESSION, ERR_SESSIONS_FULL, ERR_PROTOCOL, or the connection's error.
 */
export async function attachSession(
  address: Address,
  options: AttachOptions,
  handlers: SessionHandlers,
): Promise<{ client: SessionClient; welcome: Welcome }> {
  const hello = { op: 'attach', session: options.session, new: options.new, readOnly: options.readOnly, size: options.size };
  const client = new SessionClient(address, hello, options.token);
  client.on('screen', handlers.screen);
  client.on('output', handlers.output);
  if (handlers.exit) client.on('exit', handlers.exit);
  const welcome = await Promise.race([
    once(client, 'welcome').then(([w]) => w as Welcome),
    once(client, 'close').then(([err]) =>
      Promise.reject((err as Error | undefined) ?? codedError('ERR_PROTOCOL', 'the server closed the connection')),
    ),
  ]);
  return { client, welcome };
}

/** The sessions a server has, the most recently active first. */
export async function listSessions(address: Address, token?: string): Promise<SessionInfo[]> {
  const client = new SessionClient(address, { op: 'list' }, token);
  return Promise.race([
    once(client, 'frame').then(([type, payload]) => {
      client.close();
      if (type !== P.LIST) throw codedError('ERR_PROTOCOL', 'the server did not answer with a list');
      return JSON.parse((payload as Buffer).toString('utf8')) as SessionInfo[];
    }),
    once(client, 'close').then(([err]) =>
      Promise.reject((err as Error | undefined) ?? codedError('ERR_PROTOCOL', 'the server closed the connection')),
    ),
  ]);
}

/**
 * A session as one Duplex, for a harness, a pipe or a terminal: reading
 * gives the screen (after a reset, when it is not blank) and then the
 * output; writing sends input; `resize()` the window size. Backpressure
 * crosses the socket: a stream not read stops reading the socket, and the
 * writer's client that does not read stops the program. A refusal, a
 * server that is not the one meant (another user's, or one that cannot
 * prove the token) or a broken seam destroys it with the error.
 */
export class SessionStream extends Duplex {
  private readonly client: SessionClient;
  /** Which session, and as what; rejects as the stream is destroyed when the server refuses. */
  readonly welcome: Promise<Welcome>;

  constructor(address: Address, options: AttachOptions = {}) {
    super({ allowHalfOpen: false });
    const hello = { op: 'attach', session: options.session, new: options.new, readOnly: options.readOnly, size: options.size };
    this.client = new SessionClient(address, hello, options.token);
    this.client.on('screen', (screen: string) => screen !== '' && this.deliver(Buffer.from(`\x1bc${screen}`)));
    this.client.on('output', (chunk: Buffer) => this.deliver(chunk));
    this.client.on('close', (err?: Error) => {
      this.push(null);
      this.destroy(err);
    });
    this.welcome = new Promise<Welcome>((resolve, reject) => {
      this.client.once('welcome', resolve);
      this.once('close', () => reject(this.errored ?? codedError('ERR_PROTOCOL', 'the server closed the connection')));
    });
    this.welcome.catch(() => {});
  }

  /** The writer's window size becomes the pty's. */
  resize(size: WinSize): void {
    this.client.resize(size);
  }

  private deliver(chunk: Buffer): void {
    if (!this.push(chunk)) this.client.pause();
  }

  override _read(): void {
    this.client.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.client.write(chunk);
    cb();
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.client.close();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.client.destroy();
    cb(err);
  }
}
