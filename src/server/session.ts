/**
 * One session: a program on a pty that outlives its clients. Its output
 * is numbered (the sequence number of a byte is how many came before it)
 * and parsed into a {@link ScreenMirror}; each client gets a snapshot of
 * the screen at some number S and then every byte from S on, so nothing is
 * lost or shown twice at the seam.
 *
 * One client writes (its input goes to the program and the pty takes its
 * size); any number watch. The writer's backpressure reaches the program,
 * as a piped console's does; a viewer's never does: one that falls more
 * than {@link VIEWER_BEHIND} behind stops getting output, and once its
 * socket drains it gets a fresh snapshot instead of what it missed. The
 * parser paces the program too, so a flood costs bounded memory with or
 * without clients.
 *
 * With no client attached the session lingers for `lingerMs`, then ends
 * whole: the session-wide hang-up of {@link PtyProcess.endSession}, which
 * reaches the jobs that ignore SIGHUP too.
 * @module
 */
import * as crypto from 'node:crypto';
import type { PtyProcess } from '../process/spawn';
import type { WinSize } from '../tty/console';
import { inputWriter } from './input';
import { ScreenMirror } from './mirror';

/** Unsent output past which a viewer is cut over to a fresh snapshot. */
export const VIEWER_BEHIND = 1 << 20;
/** Unsent output past which the writer's client stops the program's reads, as pipe() would. */
const WRITER_HIGH = 256 << 10;
/** Unparsed output past which the screen's parser stops the program's reads. */
const PARSER_HIGH = 1 << 20;

export type Role = 'writer' | 'viewer';

/** How a session reaches one client; the protocol layer encodes it. */
export interface ClientPort {
  snapshot(seq: number, screen: string, size: WinSize): void;
  output(seq: number, chunk: Buffer): void;
  /** The program has exited and all its output was sent; the port closes after it. */
  exit(code: number | null, signal: string | null): void;
  /** Bytes given to the port and not yet sent (a socket's writableLength). */
  readonly backlog: number;
  /** Calls `go` once the port's backlog is gone. */
  whenDrained(go: () => void): void;
  /** The session ends the client: the session is gone, or its input went unread past MAX_INPUT. */
  close(why?: 'ended' | 'input'): void;
}

/** One attached client, as the session sees it. */
export class Attachment {
  /** 'syncing': waiting for its snapshot, output after it is held; 'behind': cut off until it drains. */
  state: 'syncing' | 'live' | 'behind' = 'syncing';
  held: Buffer[] = [];
  heldBytes = 0;
  constructor(
    readonly port: ClientPort,
    public role: Role,
  ) {}
}

export interface SessionInfo {
  id: string;
  name: string;
  command: string[];
  pid: number;
  /** When it started, and when it last had output or input: ms since the epoch. */
  startedAt: number;
  activeAt: number;
  writer: boolean;
  viewers: number;
  rows: number;
  cols: number;
}

export interface SessionOptions {
  /** What a client may call it besides its id; the table gives one. */
  name: string;
  command: string[];
  lingerMs: number;
  scrollback: number;
  /** Called once the session has ended, its programs gone or given up on. */
  onEnd: (session: Session) => void;
  /** Ends the program's session: the hang-up, then SIGKILL after the grace. */
  hangUp: (child: PtyProcess) => Promise<void>;
  /** Logs a line about this session. */
  log: (line: string) => void;
}

export class Session {
  /** 128 random bits, hex: what a client names to attach, and cannot guess. */
  readonly id = crypto.randomBytes(16).toString('hex');
  readonly name: string;
  readonly startedAt = Date.now();
  activeAt = this.startedAt;
  private seq = 0;
  private readonly mirror: ScreenMirror;
  private readonly clients = new Set<Attachment>();
  private writer: Attachment | null = null;
  private readonly input: (data: Buffer) => void;
  /** Why the program's output is not read now. */
  private readonly stops = new Set<'parser' | 'writer'>();
  private lingerTimer: NodeJS.Timeout | null = null;
  private ending: Promise<void> | null = null;

  constructor(
    private readonly child: PtyProcess,
    private readonly options: SessionOptions,
  ) {
    this.name = options.name;
    this.mirror = new ScreenMirror(child.console.size(), options.scrollback);
    const con = child.console;
    this.input = inputWriter(con, () => {
      options.log(`session ${this.name}: input not read; disconnecting`);
      this.writer?.port.close('input');
    });
    con.on('data', (chunk: Buffer) => this.output(chunk));
    // The console ends once the program and every process holding the
    // pty are gone and all they wrote was read: the session is over.
    con.on('end', () => void this.finish());
    con.on('error', () => void this.end());
    // Its first client attaches in the same turn as the start; a session
    // that got none lingers (or, with no linger, ends) from then.
    process.nextTick(() => this.lingerIfAlone());
  }

  get info(): SessionInfo {
    const { rows, cols } = this.mirror.size;
    const viewers = this.clients.size - (this.writer ? 1 : 0);
    return {
      id: this.id,
      name: this.name,
      command: this.options.command,
      pid: this.child.pid,
      startedAt: this.startedAt,
      activeAt: this.activeAt,
      writer: this.writer !== null,
      viewers,
      rows,
      cols,
    };
  }

  get hasWriter(): boolean {
    return this.writer !== null;
  }

  get ended(): boolean {
    return this.ending !== null;
  }

  /**
   * Attaches a client: as the writer if it asks and the seat is free (or
   * it takes the seat over: a page reloaded before its old connection was
   * seen to close; the writer before it watches on), else as a viewer. It
   * gets the screen, then the output from there on.
   */
  attach(port: ClientPort, wantsWriter: boolean, size?: WinSize, takeOver = false): Attachment {
    if (this.ending !== null) {
      // Found as it ended: the client is told at once, as the others were.
      port.close('ended');
      return new Attachment(port, 'viewer');
    }
    if (wantsWriter && takeOver && this.writer !== null) {
      this.writer.role = 'viewer';
      this.writer = null;
      this.go('writer');
    }
    const client = new Attachment(port, wantsWriter && this.writer === null ? 'writer' : 'viewer');
    this.clients.add(client);
    if (this.lingerTimer !== null) clearTimeout(this.lingerTimer);
    this.lingerTimer = null;
    if (client.role === 'writer') {
      this.writer = client;
      if (size !== undefined) this.resize(client, size);
    }
    this.sync(client);
    return client;
  }

  /** The client's input, when it is the writer's; a viewer's is dropped. */
  write(client: Attachment, data: Buffer): boolean {
    if (client !== this.writer || this.ending !== null) return false;
    this.activeAt = Date.now();
    this.input(data);
    return true;
  }

  /** The writer's window size becomes the pty's (SIGWINCH to the program); a viewer's is ignored. */
  resize(client: Attachment, size: WinSize): boolean {
    if (client !== this.writer || this.ending !== null || !this.child.resize(size)) return false;
    this.mirror.resize(size);
    return true;
  }

  detach(client: Attachment): void {
    if (!this.clients.delete(client)) return;
    if (client === this.writer) {
      this.writer = null;
      this.go('writer');
    }
    this.lingerIfAlone();
  }

  /** Ends the session now: every client closed, the program's session hung up. */
  end(): Promise<void> {
    this.ending ??= this.close();
    return this.ending;
  }

  private async close(): Promise<void> {
    if (this.lingerTimer !== null) clearTimeout(this.lingerTimer);
    for (const client of this.clients) client.port.close();
    this.clients.clear();
    this.writer = null;
    await this.options.hangUp(this.child);
    this.child.console.destroy();
    this.mirror.dispose();
    this.options.onEnd(this);
  }

  /** The program is gone and its output read: each client is told, then the session ends. */
  private async finish(): Promise<void> {
    const status = await this.child.exited;
    // Clients still syncing get their snapshot first: it has the program's last words.
    await this.mirror.snapshot();
    for (const client of this.clients) if (client.state !== 'syncing') client.port.exit(status.exitCode, status.signal);
    await this.end();
  }

  private lingerIfAlone(): void {
    if (this.clients.size > 0 || this.ending !== null) return;
    if (this.options.lingerMs === 0) {
      void this.end();
      return;
    }
    this.lingerTimer = setTimeout(() => void this.end(), this.options.lingerMs);
    this.lingerTimer.unref();
  }

  private output(chunk: Buffer): void {
    const start = this.seq;
    this.seq += chunk.length;
    this.activeAt = Date.now();
    this.mirror.write(chunk, () => {
      if (this.mirror.backlog < PARSER_HIGH / 2) this.go('parser');
    });
    if (this.mirror.backlog > PARSER_HIGH) this.stop('parser');
    for (const client of this.clients) this.send(client, start, chunk);
  }

  private send(client: Attachment, start: number, chunk: Buffer): void {
    if (client.state === 'syncing') {
      client.held.push(chunk);
      client.heldBytes += chunk.length;
      return;
    }
    if (client.state === 'behind') return;
    client.port.output(start, chunk);
    if (client.role === 'writer') {
      // Once: the chunks of a read already under way arrive after the stop.
      if (client.port.backlog > WRITER_HIGH && !this.stops.has('writer')) {
        this.stop('writer');
        client.port.whenDrained(() => client === this.writer && this.go('writer'));
      }
    } else if (client.port.backlog > VIEWER_BEHIND) {
      client.state = 'behind';
      client.port.whenDrained(() => this.clients.has(client) && this.sync(client));
    }
  }

  /** Sends the client the screen at the current number, then what came after it. */
  private sync(client: Attachment): void {
    client.state = 'syncing';
    client.held = [];
    client.heldBytes = 0;
    const at = this.seq;
    void this.mirror.snapshot().then(({ screen, size }) => {
      if (!this.clients.has(client)) return;
      client.port.snapshot(at, screen, size);
      let seq = at;
      for (const chunk of client.held) {
        client.port.output(seq, chunk);
        seq += chunk.length;
      }
      const behind = client.heldBytes > VIEWER_BEHIND && client.role === 'viewer';
      client.held = [];
      client.heldBytes = 0;
      client.state = 'live';
      if (behind || client.port.backlog > VIEWER_BEHIND) {
        client.state = 'behind';
        client.port.whenDrained(() => this.clients.has(client) && this.sync(client));
      }
    });
  }

  private stop(why: 'parser' | 'writer'): void {
    if (this.stops.size === 0) this.child.console.pause();
    this.stops.add(why);
  }

  private go(why: 'parser' | 'writer'): void {
    if (!this.stops.delete(why) || this.stops.size > 0 || this.ending !== null) return;
    this.child.console.resume();
  }
}
