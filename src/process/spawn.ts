/**
 * spawn(): a program on a new pty, as one stream whose life follows the
 * program's (node-pty's `spawn()`, Python's `pty.spawn`, Go's
 * `creack/pty.Start`).
 *
 *   const p = spawn('bash', ['-i']);
 *   for await (const chunk of p.console) process.stdout.write(chunk);
 *   console.log(await p.exited); // { exitCode: 0, signal: null }
 *
 * The program leads a session of its own with the pty as its controlling
 * terminal (fork/exec in the addon: native/spawn.cc), so job control, ^C and
 * the hang-up at close work as in a terminal, on every platform, with no
 * helper program. Its exit is one more event of the Kqueuer's kqueue
 * (EVFILT_PROC, or a pidfd in the Linux emulation), and the library reaps
 * it. At that event the console is shut down: what the pty still holds is
 * read (to EIO, once no process has the slave open), the readable side
 * ends, and the master is closed; the stream keeps what it read.
 */
import * as path from 'node:path';
import { type ExitStatus, type ChildWatch, type SpawnRequest } from '../kqueuer/child';
import { DEFAULT_WINSIZE, openPty, validateWinSize, type Console, type WinSize } from '../tty/console';
import { CONSOLE_OPTION_KEYS, validateConsoleOptions, type KqueueConsoleOptions } from '../stream/options';
import { binding, lastError } from '../addon/binding';
import { kqueuerClosed, systemError, type SystemError } from '../errors';
import {
  invalidArgType,
  invalidArgValue,
  validateArray,
  validateBoolean,
  validateCString,
  validateInteger,
  validateObject,
  validateSignal,
  U16_MAX,
} from '../validators';
import { Kqueuer, kSpawnChild, sharedKqueuer } from '../kqueuer/kqueuer';
import type { KqueueConsole } from '../stream/kqueue-console';
import { kReleaseFd } from '../stream/ports';

export type { ExitStatus } from '../kqueuer/child';

/** Options of {@link spawn}: the program's, and those of {@link Kqueuer.add} for its console. */
export interface SpawnOptions extends Omit<KqueueConsoleOptions, 'autoClose'> {
  /** Working directory; default the parent's. */
  cwd?: string;
  /**
   * Environment; default `process.env`. `TERM` is set to `xterm-256color`
   * when the environment given has none. PATH is searched in this
   * environment's `PATH` (default `/usr/bin:/bin`), as child_process does.
   */
  env?: NodeJS.ProcessEnv;
  /** Window size in rows; default 24. */
  rows?: number;
  /** Window size in columns; default 80. */
  cols?: number;
  /**
   * Put the terminal in raw mode before the program starts (cfmakeraw: no
   * echo, no line editing, no CRLF translation, bytes unchanged both
   * ways). Default false: a terminal as a shell expects it.
   */
  raw?: boolean;
  /** The Kqueuer for the console and the exit; by default one shared per thread, which keeps nothing alive while idle. */
  kqueuer?: Kqueuer;
}

/** The default terminal type: what xterm.js, the web terminal's emulator, is. */
export const DEFAULT_TERM = 'xterm-256color';
const DEFAULT_PATH = '/usr/bin:/bin';
/** endSession()'s default grace between SIGHUP and SIGKILL. */
const HANGUP_GRACE_MS = 2000;
/** How often endSession() looks whether the session has emptied. */
const SESSION_POLL_MS = 50;

/** The console's options among spawn()'s: all of Kqueuer.add()'s but autoClose (the pty is the library's). */
const consoleOptionKeys = CONSOLE_OPTION_KEYS.filter((key): key is keyof SpawnOptions & keyof KqueueConsoleOptions => key !== 'autoClose');

/**
 * @internal A spawned program's life as its PtyProcess sees it, set in the
 * Kqueuer's callbacks (not a promise's, a microtask later): `reaped` from
 * the moment its pid may be reused, `lost` when its Kqueuer closed first.
 */
class Life {
  private state: { phase: 'running' } | { phase: 'reaped'; status: ExitStatus } | { phase: 'lost' } = { phase: 'running' };
  readonly promise: Promise<ExitStatus>;
  private resolve!: (status: ExitStatus) => void;
  private reject!: (err: Error) => void;

  constructor() {
    this.promise = new Promise<ExitStatus>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.promise.catch(() => {}); // Awaiting it is optional.
  }

  get running(): boolean {
    return this.state.phase === 'running';
  }

  get wasLost(): boolean {
    return this.state.phase === 'lost';
  }

  /** How it ended, once reaped; null before, or when it was lost. */
  get status(): ExitStatus | null {
    return this.state.phase === 'reaped' ? this.state.status : null;
  }

  exited(status: ExitStatus): void {
    this.state = { phase: 'reaped', status };
    this.resolve(status);
  }

  lost(err: Error): void {
    this.state = { phase: 'lost' };
    this.reject(err);
  }
}

/**
 * A program running on a pty, made by {@link spawn}. Its console is the
 * stream of the pty master; its exit ends that stream.
 */
export class PtyProcess {
  /** The program's process id (the leader of its session and process group). */
  readonly pid: number;
  /**
   * The pty master as a stream: the program's output to read, its input to
   * write. Ends by itself after the program exits and everything it wrote
   * has been read. Its master fd closes at the exit, read or not (what was
   * read stays in the stream); the stream is destroyed once read to its end.
   */
  readonly console: KqueueConsole;
  /**
   * Settles when the program has exited and has been reaped, with its code
   * or signal; everything it wrote is in the console's readable side by
   * then. Rejects (ERR_KQUEUER_CLOSED) only when its Kqueuer is closed
   * while it runs; nobody needs to await it.
   */
  readonly exited: Promise<ExitStatus>;
  private readonly watch: ChildWatch;
  private readonly life: Life;

  /** @internal Use {@link spawn}. */
  constructor(watch: ChildWatch, con: KqueueConsole, life: Life) {
    this.pid = watch.pid;
    this.watch = watch;
    this.console = con;
    this.life = life;
    this.exited = life.promise;
  }

  /** The exit code once the program has exited (null while it runs, or when a signal ended it), as ChildProcess's. */
  get exitCode(): number | null {
    return this.life.status?.exitCode ?? null;
  }

  /** The signal that ended the program, once it has (null otherwise), as ChildProcess's. */
  get signalCode(): NodeJS.Signals | null {
    return this.life.status?.signal ?? null;
  }

  /**
   * Sends `signal` (default `SIGTERM`) to the program, as ChildProcess's
   * `kill()`. Returns false once it has been reaped (its pid may be
   * another process's by then) or when it is gone.
   * @throws ERR_UNKNOWN_SIGNAL for a name or number that is no signal here.
   */
  kill(signal: NodeJS.Signals | number = 'SIGTERM'): boolean {
    const n = validateSignal(signal);
    if (!this.life.running) return false;
    try {
      process.kill(this.pid, n);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
      throw err;
    }
  }

  /**
   * Sends `signal` (default `SIGHUP`) to every process still in the
   * program's session: the program, and the jobs an interactive shell put
   * in process groups of their own, `nohup`'d or trapping SIGHUP, which a
   * signal to the program's group misses. Never a process outside it: the
   * members are found by session id, which the kernel does not hand out
   * again while any member lives, and (on Linux) each is signalled through
   * a pidfd after its session is read. What calls `setsid()` has left the
   * session and is not reached, on purpose (daemons do this).
   * Returns the number of processes signalled: 0 once none is left, or once
   * the program has been reaped and its pid belongs to a new process (the
   * session was over by then), or when the Kqueuer closed while it ran.
   * @throws ERR_UNKNOWN_SIGNAL; errno errors from reading the process table.
   */
  killSession(signal: NodeJS.Signals | number = 'SIGHUP'): number {
    const n = validateSignal(signal);
    if (this.life.wasLost) return 0;
    const native = binding();
    const count = native.signalSession(this.pid, n, !this.life.running);
    if (count < 0) throw lastError(native);
    return count;
  }

  /**
   * Ends the session as a terminal's hang-up would, and for the jobs that
   * outlive one too: SIGHUP to every process of it (see
   * {@link killSession}), then, after `graceMs` (default 2000), SIGKILL to
   * whatever is left. Resolves once no process of the session is left, or
   * when what SIGKILL could not end is still there `graceMs` later (a
   * process in uninterruptible sleep).
   */
  async endSession(options: { graceMs?: number } = {}): Promise<void> {
    validateObject(options, 'options');
    const graceMs = validateInteger(options.graceMs ?? HANGUP_GRACE_MS, 'options.graceMs', 0, 2 ** 31 - 1);
    if (this.killSession('SIGHUP') === 0) return;
    if (await this.sessionGone(graceMs)) return;
    if (this.killSession('SIGKILL') === 0) return;
    await this.sessionGone(graceMs);
  }

  /** Whether the session has emptied within `ms`, looked at every 50 ms. */
  private async sessionGone(ms: number): Promise<boolean> {
    for (const deadline = Date.now() + ms; Date.now() < deadline;) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(SESSION_POLL_MS, Math.max(0, deadline - Date.now()))));
      if (this.killSession(0) === 0) return true;
    }
    return false;
  }

  /**
   * Sets the terminal's window size; the program gets SIGWINCH. Returns
   * true, or false (and does nothing) once the console has been destroyed
   * (the program exited and its output was read, or the stream was
   * destroyed): as {@link kill} after the exit, there is then nothing to
   * resize. A client's late resize is no error.
   * @throws ERR_INVALID_ARG_TYPE / ERR_OUT_OF_RANGE for a bad size, whatever
   *   the state; errno errors from ioctl(TIOCSWINSZ).
   */
  resize(size: WinSize): boolean {
    validateWinSize(size);
    // Destroyed, or its master closed at the program's exit while unread.
    if (this.console.destroyed || this.console.console?.isClosed !== false) return false;
    this.console.resize(size);
    return true;
  }

  /** The running program keeps the event loop alive (the default), as ChildProcess's `ref()`. */
  ref(): this {
    this.watch.ref();
    return this;
  }

  /** The event loop may exit while the program runs, as ChildProcess's `unref()`. */
  unref(): this {
    this.watch.unref();
    return this;
  }
}

/**
 * Starts `file` on a new pty and returns it with the pty master's stream:
 * see the module comment. Nothing to wire: the stream ends after the
 * program exits, with every byte it wrote.
 *
 * @param file the program: a path, or a name looked up in the PATH of `options.env`.
 * @throws synchronously, as child_process.spawn's errors read
 *   (`code`, `errno`, `syscall`, `path`, `spawnargs`): `ENOENT`, `EACCES`,
 *   `ENOTDIR`, ... for a program that cannot be executed (syscall
 *   `spawn <file>`), and for a `cwd` that cannot be entered (syscall
 *   `chdir`, `path` the cwd); ERR_INVALID_ARG_TYPE / ERR_INVALID_ARG_VALUE /
 *   ERR_OUT_OF_RANGE for bad arguments; ERR_KQUEUER_CLOSED; errno errors
 *   from openPty() (`EMFILE`, ...) and from fork().
 */
export function spawn(file: string, args: readonly string[] = [], options: SpawnOptions = {}): PtyProcess {
  const request = spawnRequest(file, args, options);
  const consoleOptions = validateConsoleOptions(pick(options, consoleOptionKeys));
  const rows = validateInteger(options.rows ?? DEFAULT_WINSIZE.rows, 'options.rows', 1, U16_MAX);
  const cols = validateInteger(options.cols ?? DEFAULT_WINSIZE.cols, 'options.cols', 1, U16_MAX);
  const raw = options.raw === undefined ? false : validateBoolean(options.raw, 'options.raw');
  if (options.kqueuer !== undefined && !(options.kqueuer instanceof Kqueuer)) {
    throw invalidArgType('options.kqueuer', 'an instance of Kqueuer', options.kqueuer);
  }
  const kq = options.kqueuer ?? sharedKqueuer();
  if (kq.closed) throw kqueuerClosed();

  const { master, slave } = openPty();
  let con: KqueueConsole | null = null;
  const life = new Life();
  let watch: ChildWatch;
  try {
    master.resize({ rows, cols });
    if (raw) slave.setRaw({ opost: false });
    con = kq.add(master, consoleOptions);
    const stream = con;
    watch = kq[kSpawnChild](
      { ...request, slaveFd: slave.fd },
      {
        exited: (status) => {
          endWithProgram(stream, slave);
          life.exited(status);
        },
        lost: (err) => {
          slave.close();
          life.lost(err);
        },
      },
    );
  } catch (err) {
    if (con !== null) con.destroy();
    else master.close();
    slave.close();
    throw spawnError(err, file, args, request.cwd);
  }
  // The child has its own copies. On macOS the kernel discards what the
  // master has not read when the last slave fd closes, so there the parent
  // holds one until the exit's drain (see openPty()); elsewhere the master
  // must see EIO once the program's own fds are gone.
  if (process.platform !== 'darwin') slave.close();
  return new PtyProcess(watch, con, life);
}

/**
 * The program's exit: read what the pty holds and end; the master closes
 * now, so that a console nobody reads does not hold its pty, and the stream
 * keeps what it read until it is read to its end (then destroyed) or
 * dropped.
 */
function endWithProgram(con: KqueueConsole, slave: Console): void {
  if (!con.destroyed) {
    // The default close (deregister) is synchronous: the drain has run when
    // shutdown() returns, and the readable side has ended.
    void con.shutdown();
    if (con.readableEnded) {
      con.destroy();
    } else {
      con[kReleaseFd]();
      con.once('end', () => con.destroy());
    }
  }
  slave.close();
}

function spawnRequest(file: string, args: readonly string[], options: SpawnOptions): Omit<SpawnRequest, 'slaveFd'> {
  validateCString(file, 'file');
  if (file === '') throw invalidArgValue('file', 'not be empty', file);
  validateArray(args, 'args');
  args.forEach((a, i) => validateCString(a, `args[${i}]`));
  validateObject(options, 'options');
  const cwd = options.cwd === undefined ? null : validateCString(options.cwd, 'options.cwd');
  const env = options.env === undefined ? process.env : validateObject<NodeJS.ProcessEnv>(options.env, 'options.env');
  const envp: string[] = [];
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) continue;
    envp.push(validateCString(`${key}=${String(value)}`, `options.env['${key}']`));
  }
  if (env.TERM === undefined) envp.push(`TERM=${DEFAULT_TERM}`);
  const search = typeof env.PATH === 'string' ? env.PATH : DEFAULT_PATH;
  const paths = file.includes('/') ? [file] : search.split(':').map((dir) => path.join(dir === '' ? '.' : dir, file));
  return { paths, argv: [file, ...args], envp, cwd };
}

/** Errors as child_process.spawn()'s read: `spawn <file> ENOENT`, with path and spawnargs. */
function spawnError(err: unknown, file: string, args: readonly string[], cwd: string | null): unknown {
  const e = err as SystemError & { path?: string; spawnargs?: string[] };
  if (typeof e?.errno !== 'number' || typeof e.syscall !== 'string') return err;
  let out: SystemError & { path?: string; spawnargs?: string[] };
  if (e.syscall === 'execve') {
    out = systemError(-e.errno, `spawn ${file}`);
    out.path = file;
  } else if (e.syscall === 'chdir' && cwd !== null) {
    out = systemError(-e.errno, 'chdir');
    out.message = `chdir ${out.code}: cannot enter the cwd ${JSON.stringify(cwd)} of spawn ${file}`;
    out.path = cwd;
  } else {
    out = e;
  }
  out.spawnargs = [...args];
  return out;
}

function pick<T extends object, K extends readonly (keyof T)[]>(from: T, keys: K): Pick<T, K[number]> {
  const out: Partial<T> = {};
  for (const key of keys) if (from[key] !== undefined) out[key] = from[key];
  return out as Pick<T, K[number]>;
}
