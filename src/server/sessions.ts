/**
 * A server's sessions: started up to a cap, found by id or name, chosen
 * for a client as `tmux attach` chooses, listed, and all ended at close.
 * @module
 */
import { codedError } from '../errors';
import type { Kqueuer } from '../kqueuer/kqueuer';
import { spawn, type PtyProcess } from '../process/spawn';
import type { WinSize } from '../tty/console';
import type { Hello } from './protocol';
import { Session, type SessionInfo } from './session';

/** How long a session's programs have after SIGHUP before SIGKILL. */
export const HANGUP_GRACE_MS = 2000;
const ID = /^[0-9a-f]{32}$/;

export interface Program {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface TableOptions {
  kqueuer: Kqueuer;
  program: Program;
  maxSessions: number;
  lingerMs: number;
  scrollback: number;
  log: (line: string) => void;
}

export class SessionTable {
  private readonly live = new Map<string, Session>();
  private readonly ending = new Set<Promise<void>>();
  /** endAll() was called: no session starts again. */
  private closed = false;
  private count = 0;

  constructor(private readonly options: TableOptions) {}

  /** Sessions started so far. */
  get started(): number {
    return this.count;
  }

  /** The session of that id or name, if it is running. */
  find(idOrName: string): Session | undefined {
    return [...this.live.values()].find((s) => s.id === idOrName || s.name === idOrName);
  }

  list(): SessionInfo[] {
    return [...this.live.values()].map((s) => s.info).sort((a, b) => b.activeAt - a.activeAt);
  }

  /** The process ids of the sessions' programs. */
  get pids(): number[] {
    return this.list().map((s) => s.pid);
  }

  /**
   * The session a HELLO names or implies: `new` starts one; a name or id
   * joins that one, a name not in use starts it; otherwise a writer joins
   * the most recently active session without a writer (or starts one) and
   * a viewer the most recently active session.
   * @throws ERR_NO_SESSION, ERR_SESSIONS_FULL, ERR_SERVER_CLOSED, or spawn()'s error.
   */
  choose(hello: Extract<Hello, { op: 'attach' }>): Session {
    if (hello.new) return this.start(undefined, hello.size);
    if (hello.session !== undefined) {
      const found = this.find(hello.session);
      if (found !== undefined) return found;
      if (ID.test(hello.session) || hello.readOnly) throw codedError('ERR_NO_SESSION', `no session ${hello.session}`);
      return this.start(hello.session, hello.size);
    }
    const byActivity = [...this.live.values()].sort((a, b) => b.activeAt - a.activeAt);
    if (hello.readOnly) {
      if (byActivity.length === 0) throw codedError('ERR_NO_SESSION', 'no session to watch');
      return byActivity[0];
    }
    return byActivity.find((s) => !s.hasWriter) ?? this.start(undefined, hello.size);
  }

  /**
   * Ends every session; resolves once their programs have gone (SIGKILL
   * after the grace). From here on no session starts: a connection open
   * before the close could otherwise start one that nothing would end.
   */
  async endAll(): Promise<void> {
    this.closed = true;
    await Promise.all([...[...this.live.values()].map((s) => s.end()), ...this.ending]);
  }

  private start(name: string | undefined, size: WinSize | undefined): Session {
    const { program, kqueuer, maxSessions, lingerMs, scrollback, log } = this.options;
    if (this.closed) throw codedError('ERR_SERVER_CLOSED', 'the server is closing');
    if (this.live.size >= maxSessions) throw codedError('ERR_SESSIONS_FULL', `${maxSessions} sessions already`);
    const child = spawn(program.command, program.args, { env: program.env, cwd: program.cwd, kqueuer, ...size });
    let session: Session;
    try {
      session = new Session(child, {
        name: name ?? this.freeName(),
        command: [program.command, ...program.args],
        lingerMs,
        scrollback,
        hangUp: (c) => this.hangUp(c),
        log,
        onEnd: (s) => {
          this.live.delete(s.id);
          log(`session ${s.name} ended`);
        },
      });
    } catch (err) {
      // No screen for it: the program it was for goes, and is hung up with its session.
      void this.hangUp(child).then(() => child.console.destroy());
      throw err;
    }
    this.live.set(session.id, session);
    this.count++;
    log(`session ${session.name} started: pid ${child.pid}`);
    return session;
  }

  /** The next of 1, 2, 3, ... that no session is called, as tmux names its sessions. */
  private freeName(): string {
    let n = this.count + 1;
    while (this.find(String(n)) !== undefined) n++;
    return String(n);
  }

  /** The session-wide hang-up; a failure to read the process table is logged, never thrown. */
  private hangUp(child: PtyProcess): Promise<void> {
    const done = child
      .endSession({ graceMs: HANGUP_GRACE_MS })
      .catch((err: Error) => this.options.log(`session of pid ${child.pid}: hang-up failed: ${err.message}`))
      .finally(() => this.ending.delete(done));
    this.ending.add(done);
    return done;
  }
}
