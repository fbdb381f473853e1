// What the two examples that serve a shell (web-terminal.ts and
// pipe-to-socket.ts) share beside kqueue-console/server: the caps on
// connections and sessions, and how a session ends.
//
// A session's end: the shell leads a session of its own on the pty
// (spawn()), and closing the master hangs that session up: the kernel
// sends SIGHUP to its foreground process group (tty_ioctl(4), the
// controlling process's exit). A program that ignores SIGHUP (`trap ''
// HUP`, nohup) would outlive the session that started it, holding whatever
// it held; so the shell's process group gets SIGHUP at once and, if
// anything of it is left after a grace period, SIGKILL. Processes that left
// the group or the session on purpose (setsid, a job control shell's
// background jobs in groups of their own) are out of reach: the README and
// SECURITY.md say so.
import { spawn, type Kqueuer, type PtyProcess } from 'kqueue-console';

/** How long a session's programs have after SIGHUP before SIGKILL. */
export const HANGUP_GRACE_MS = 2000;

/** What one client may hold, and for how long before it has authenticated. */
export interface Limits {
  /** Sessions at once; a client past them is refused once it has authenticated. Default 8. */
  maxSessions?: number;
  /**
   * Connections that have no session yet (loading a page, or yet to send
   * the token), beside the sessions; beyond them new connections are
   * dropped as they are accepted. Default 16.
   */
  maxPending?: number;
  /** How long a client has to send its token (the web terminal: its whole request too). Default 5000 ms. */
  authTimeoutMs?: number;
}

/** The limits with their defaults; a limit that is not a positive integer is a RangeError. */
export function limitsOf(options: Limits): Required<Limits> {
  const limits = { maxSessions: 8, maxPending: 16, authTimeoutMs: 5000 };
  for (const name of Object.keys(limits) as (keyof Limits)[]) {
    const n = options[name] ?? limits[name];
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`${name} must be a positive integer; got ${n}`);
    limits[name] = n;
  }
  return limits;
}

const LIMIT_FLAGS = { '--max-sessions': 'maxSessions', '--max-pending': 'maxPending', '--auth-timeout-ms': 'authTimeoutMs' } as const;
/** The limits' command-line flags, as a usage line shows them. */
export const LIMITS_USAGE = Object.keys(LIMIT_FLAGS)
  .map((flag) => `[${flag} N]`)
  .join(' ');

/** Takes a limit's flag and its value into `limits` (limitsOf() checks it); false when `flag` is none. */
export function takeLimitFlag(limits: Limits, flag: string, value: string | undefined): boolean {
  if (!Object.hasOwn(LIMIT_FLAGS, flag)) return false;
  limits[LIMIT_FLAGS[flag as keyof typeof LIMIT_FLAGS]] = Number(value);
  return true;
}

/** Why a session was not started: the cap was reached, or spawn() failed (no pty, EMFILE, ENOENT). */
export type Refusal = 'full' | 'failed';

/** The program each session runs. */
export interface Program {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
}

/**
 * The sessions of one server: each a program on a pty of its own, started
 * up to the cap, each start and end logged, and every one ended (hung up)
 * by endAll().
 */
export class Sessions {
  private readonly live = new Set<PtyProcess>();
  private readonly ending = new Set<Promise<void>>();
  private started = 0;

  constructor(
    private readonly kqueuer: Kqueuer,
    private readonly program: Program,
    private readonly maxSessions: number,
    private readonly log: (line: string) => void,
  ) {}

  /** Sessions started so far. */
  get count(): number {
    return this.started;
  }

  /** The process ids of the sessions' programs running now. */
  get pids(): number[] {
    return [...this.live].map((child) => child.pid);
  }

  /**
   * Starts a session: its program in a session of its own with the pty as
   * its controlling terminal (spawn()), so that Ctrl-C and job control work
   * remotely. Returns the child and its number, or why none was started
   * (logged, never thrown).
   */
  open(): { child: PtyProcess; id: number } | { refused: Refusal } {
    if (this.live.size >= this.maxSessions) {
      this.log(`session not started: ${this.maxSessions} sessions already`);
      return { refused: 'full' };
    }
    let child: PtyProcess;
    try {
      child = spawn(this.program.command, this.program.args, { env: this.program.env, kqueuer: this.kqueuer });
    } catch (err) {
      this.log(`session not started: ${(err as Error).message}`);
      return { refused: 'failed' };
    }
    const id = ++this.started;
    this.live.add(child);
    this.log(`session ${id} started: pid ${child.pid}`);
    return { child, id };
  }

  /** Ends a session whose client has gone: its console destroyed, its programs hung up. */
  close(child: PtyProcess, id: number): void {
    if (!this.live.delete(child)) return;
    const ended = this.hangUp(child, id).finally(() => this.ending.delete(ended));
    this.ending.add(ended);
    child.console.destroy();
    this.log(`session ${id} ended`);
  }

  /** Hangs up every session; resolves once all their programs have gone (SIGKILL after the grace). */
  async endAll(): Promise<void> {
    const hangUps = [...this.live].map((child) => this.hangUp(child, null));
    await Promise.all([...hangUps, ...this.ending]);
  }

  /** The session-wide hang-up (PtyProcess.endSession()); a failure to read the process table is logged, never thrown. */
  private async hangUp(child: PtyProcess, id: number | null): Promise<void> {
    try {
      await child.endSession({ graceMs: HANGUP_GRACE_MS });
    } catch (err) {
      this.log(`session ${id ?? `of pid ${child.pid}`}: hang-up failed: ${(err as Error).message}`);
    }
  }
}
