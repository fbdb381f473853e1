/**
 * Console: a tty file descriptor with the terminal operations of
 * containerd/console's `Console` (Resize, ResizeFrom, SetRaw, DisableEcho,
 * Reset, Size, Name, Fd).
 */
import * as os from 'node:os';
import { binding, lastError } from '../addon/binding';
import { adoptFd, closeOwned, discardOwned } from '../addon/fd-ownership';
import { codedError, systemError } from '../errors';
import { U16_MAX, validateBoolean, validateFd, validateInteger, validateObject, validateOptions } from '../validators';

/** A terminal window size, as TIOCGWINSZ/TIOCSWINSZ carry it. */
export interface WinSize {
  /** Rows (containerd/console's `Height`). */
  rows: number;
  /** Columns (containerd/console's `Width`). */
  cols: number;
  /** Width in pixels; 0 when unknown. */
  xpixel?: number;
  /** Height in pixels; 0 when unknown. */
  ypixel?: number;
}

/** Options of {@link Console.setRaw}. */
export interface RawOptions {
  /**
   * Whether output processing (OPOST) stays on, as containerd/console's
   * `SetRaw` leaves it: a program's `\n` still reaches the master as
   * `\r\n` (ONLCR). Default true. `false` is cfmakeraw(3) exactly: no
   * byte is translated either way, which is what byte-exact transfers want.
   */
  opost?: boolean;
}

/** Options of {@link Console.fromFd}. */
export interface ConsoleOptions {
  /** Whether {@link Console.close} closes the fd. Default false: the caller owns it. */
  autoClose?: boolean;
}

/** The window size a terminal starts with when none is given: the VT100's. */
export const DEFAULT_WINSIZE: Readonly<WinSize> = Object.freeze({ rows: 24, cols: 80 });

/**
 * A tty file descriptor and its terminal operations. Made by
 * {@link openPty}, {@link current} or {@link Console.fromFd}.
 */
export class Console {
  /** The file descriptor. */
  readonly fd: number;
  /**
   * The terminal's name: for a pty master, the path of its slave (what a
   * program on the other side opens); otherwise the tty's own path.
   */
  readonly name: string;
  /** Whether {@link close} closes the fd. */
  readonly autoClose: boolean;
  /** @internal Whether the fd is a pty master (ptsname() names its slave). */
  readonly ptyMaster: boolean;
  private readonly saved: Buffer;
  private closed = false;

  private constructor(fd: number, name: string, saved: Buffer, autoClose: boolean, ptyMaster: boolean) {
    this.fd = fd;
    this.name = name;
    this.saved = saved;
    this.autoClose = autoClose;
    this.ptyMaster = ptyMaster;
  }

  /**
   * Wraps a tty fd (containerd/console's `ConsoleFromFile`). Saves its
   * termios, which {@link reset} restores.
   * @throws ERR_INVALID_ARG_TYPE / ERR_OUT_OF_RANGE for a bad fd argument;
   *   `EBADF` for a closed fd; `ENOTTY` for an fd that is not a terminal.
   */
  static fromFd(fd: number, options: ConsoleOptions = {}): Console {
    validateFd(fd);
    const saved = savedTermios(fd);
    const native = binding();
    const slave = native.ptsname(fd);
    const name = slave ?? native.ttyname(fd) ?? '';
    if (options.autoClose === true) adoptFd(fd);
    return new Console(fd, name, saved, options.autoClose === true, slave !== null);
  }

  /** @internal Used by openPty(), which owns the fds it opens. */
  static adopt(fd: number, name: string): Console {
    return new Console(fd, name, savedTermios(fd), true, true);
  }

  /** Whether {@link close} has been called. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** @internal ERR_CONSOLE_CLOSED after close(): the check every operation begins with. */
  assertOpen(): void {
    if (this.closed) throw codedError('ERR_CONSOLE_CLOSED', `console fd ${this.fd} is closed`, { fd: this.fd });
  }

  /**
   * The window size.
   * @throws ERR_CONSOLE_CLOSED after close(); errno errors from ioctl(TIOCGWINSZ).
   */
  size(): WinSize {
    this.assertOpen();
    const native = binding();
    const ws = native.getWinsize(this.fd);
    if (ws === null) throw lastError(native, this.fd);
    return { rows: ws[0], cols: ws[1], xpixel: ws[2], ypixel: ws[3] };
  }

  /**
   * Sets the window size; a program on the slave gets SIGWINCH.
   * @throws ERR_INVALID_ARG_TYPE / ERR_OUT_OF_RANGE for sizes that are not
   *   integers in [0, 65535]; ERR_CONSOLE_CLOSED; errno errors from ioctl.
   */
  resize(size: WinSize): void {
    setWinsize(this.fd, size, () => this.assertOpen());
  }

  /**
   * Copies the window size of another console (containerd/console's `ResizeFrom`).
   * @throws as {@link size} on `from` and {@link resize} on this console.
   */
  resizeFrom(from: Console | { size(): WinSize }): void {
    this.resize(from.size());
  }

  /**
   * Puts the terminal in raw mode as containerd/console's `SetRaw` does:
   * cfmakeraw(3) (no echo, no line editing, no signals from keys, input
   * bytes unchanged), then OPOST set again, so output processing such as
   * ONLCR's `\n` → `\r\n` goes on. For bytes unchanged both ways, pass
   * `{ opost: false }` (cfmakeraw exactly) or call {@link clearONLCR}.
   * @throws ERR_INVALID_ARG_TYPE for bad options; ERR_CONSOLE_CLOSED; errno
   *   errors from tcgetattr/tcsetattr.
   */
  setRaw(options?: RawOptions): void {
    const opost = rawOpost(options);
    this.assertOpen();
    modify(this.fd, (t) => binding().makeRaw(t, opost));
  }

  /**
   * Clears ONLCR, so that a program's `\n` reaches the master as `\n`
   * (containerd/console's `ClearONLCR`: Linux ptys start with it set).
   * @throws ERR_CONSOLE_CLOSED; errno errors from tcgetattr/tcsetattr.
   */
  clearONLCR(): void {
    this.assertOpen();
    modify(this.fd, (t) => binding().withONLCR(t, false));
  }

  /**
   * Sets ONLCR, so that a program's `\n` reaches the master as `\r\n`, as
   * a terminal emulator wants (containerd/console's `SetONLCR`).
   * @throws ERR_CONSOLE_CLOSED; errno errors from tcgetattr/tcsetattr.
   */
  setONLCR(): void {
    this.assertOpen();
    modify(this.fd, (t) => binding().withONLCR(t, true));
  }

  /**
   * Turns echo off, leaving the rest of the mode as it is.
   * @throws ERR_CONSOLE_CLOSED; errno errors from tcgetattr/tcsetattr.
   */
  disableEcho(): void {
    this.assertOpen();
    modify(this.fd, (t) => binding().withoutEcho(t));
  }

  /**
   * Restores the termios saved when this Console was made, byte for byte.
   * @throws ERR_CONSOLE_CLOSED; errno errors from tcsetattr.
   */
  reset(): void {
    this.assertOpen();
    const native = binding();
    if (native.tcsetattr(this.fd, this.saved) !== 0) throw lastError(native, this.fd);
  }

  /**
   * Closes the fd if this Console owns it (openPty(), or `autoClose`).
   * Idempotent; operations after it throw ERR_CONSOLE_CLOSED.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.autoClose) closeOwned(this.fd);
  }
}

/** The termios of `fd`, which reset() restores: the step every way of making a Console begins with. */
function savedTermios(fd: number): Buffer {
  const native = binding();
  const saved = native.tcgetattr(fd);
  if (saved === null) throw lastError(native, fd);
  return saved;
}

/** TIOCSWINSZ with validation; `check` runs after the arguments are validated. */
/**
 * @internal Whether the terminal of `fd` echoes input (ECHO in c_lflag), or
 * null when `fd` is no terminal. On a pty master it is the slave's: the
 * master's termios calls act on its slave (Linux tty_mode_ioctl(), the BSDs'
 * one tty per pair), as pexpect's getecho() relies on.
 */
export function echoing(fd: number): boolean | null {
  const native = binding();
  const termios = native.tcgetattr(fd);
  if (termios === null) return null;
  // The addon clears ECHO alone: a change means it was set.
  return !termios.equals(native.withoutEcho(termios));
}

/**
 * @internal What ends the input of the terminal of `fd` (a pty master
 * speaks for its slave's line discipline: tcgetattr(3) on it reads the
 * slave's termios, Linux drivers/tty/tty_ioctl.c tty_mode_ioctl): its VEOF
 * character in canonical mode, or null (noncanonical mode has none; or the
 * fd is no terminal, or closed).
 */
export function eofChar(fd: number): number | null {
  const native = binding();
  const termios = native.tcgetattr(fd);
  if (termios === null) return null;
  const c = native.eofChar(termios);
  return c < 0 ? null : c;
}

/** @internal A window size as struct winsize holds it: ERR_INVALID_ARG_TYPE or ERR_OUT_OF_RANGE otherwise. */
export function validateWinSize(size: unknown): Required<WinSize> {
  const s = validateObject<WinSize>(size, 'size');
  return {
    rows: validateInteger(s.rows, 'size.rows', 0, U16_MAX),
    cols: validateInteger(s.cols, 'size.cols', 0, U16_MAX),
    xpixel: validateInteger(s.xpixel ?? 0, 'size.xpixel', 0, U16_MAX),
    ypixel: validateInteger(s.ypixel ?? 0, 'size.ypixel', 0, U16_MAX),
  };
}

function setWinsize(fd: number, size: WinSize, check?: () => void): void {
  const { rows, cols, xpixel, ypixel } = validateWinSize(size);
  check?.();
  const native = binding();
  if (native.setWinsize(fd, rows, cols, xpixel, ypixel) !== 0) throw lastError(native, fd);
}

function modify(fd: number, change: (termios: Buffer) => Buffer): void {
  const native = binding();
  const current = native.tcgetattr(fd);
  if (current === null) throw lastError(native, fd);
  if (native.tcsetattr(fd, change(current)) !== 0) throw lastError(native, fd);
}

function rawOpost(options: RawOptions | undefined): boolean {
  const opost = validateOptions<RawOptions>(options)?.opost;
  return opost === undefined ? true : validateBoolean(opost, 'options.opost');
}

/** A pty pair from {@link openPty}. */
export interface Pty {
  /** The master side: add it to a Kqueuer to read what the program writes. */
  master: Console;
  /**
   * The slave side: the terminal a program runs on. On macOS the kernel
   * discards unread master output when the last slave fd closes: hold this
   * open until the master's stream has drained to keep every byte.
   */
  slave: Console;
  /** The slave's path, e.g. `/dev/pts/3`. */
  slavePath: string;
}

/**
 * Opens a new pty pair (containerd/console's `NewPty`): the master with
 * `O_RDWR|O_NOCTTY|O_CLOEXEC`, granted and unlocked, and its slave opened the
 * same way. Both Consoles own their fds.
 * @throws errno errors from posix_openpt, grantpt, unlockpt, ptsname or open
 *   (`EMFILE`, `ENOSPC` when the system is out of ptys, ...).
 */
export function openPty(): Pty {
  const native = binding();
  const pty = native.openPty();
  if (pty === null) throw lastError(native);
  const [masterFd, slaveFd, slavePath] = pty;
  try {
    return {
      master: Console.adopt(masterFd, slavePath),
      slave: Console.adopt(slaveFd, slavePath),
      slavePath,
    };
  } catch (err) {
    discardOwned(masterFd, slaveFd);
    throw err;
  }
}

/**
 * Makes a pty from a master the caller has opened, e.g. `/dev/ptmx` with
 * `fs.openSync` (containerd/console's `NewPtyFromFile`): grants and unlocks
 * it and names its slave, which is not opened. The fd stays the caller's
 * unless `autoClose` is given, as with {@link Console.fromFd}.
 * @throws ERR_INVALID_ARG_TYPE / ERR_OUT_OF_RANGE for a bad fd argument;
 *   `EBADF`; `ENOTTY` or `EINVAL` for an fd that is not a pty master.
 */
export function ptyFromFd(fd: number, options: ConsoleOptions = {}): { master: Console; slavePath: string } {
  validateFd(fd);
  const native = binding();
  if (native.unlockPty(fd) !== 0) throw lastError(native, fd);
  const master = Console.fromFd(fd, options);
  return { master, slavePath: master.name };
}

/**
 * The terminal this process runs on (containerd/console's `Current`): the
 * first of stderr, stdout and stdin that is a tty, in upstream's order (one
 * of them may be redirected). The fd is not owned.
 * @throws `ENOTTY` when none of them is a terminal.
 */
export function current(): Console {
  const native = binding();
  for (const fd of [2, 1, 0]) {
    if (native.isatty(fd)) return Console.fromFd(fd);
  }
  throw systemError(os.constants.errno.ENOTTY, 'isatty', 2);
}
