/**
 * An expect-style driver for testing terminal programs through streams:
 * spawn a program on a pty (the main entry's `spawn()`), or attach to any
 * Duplex that talks to one, send input as a person types it, and wait for
 * what the program prints, as bytes (`expect()`) or as the screen a person
 * would see (`waitFor()`, `screen()`).
 *
 * ```ts
 * const h = Harness.spawn('less', { args: ['/etc/services'], test: t });
 * await h.waitFor('/etc/services');
 * await h.type('/ssh');
 * await h.press('Enter');
 * const screen = await h.waitFor((s) => s.alternate && s.text.includes('ssh'));
 * await h.press('q');
 * await h.exit();
 * ```
 *
 * Matching runs on the whole output since the last match, so a match split
 * across reads is found; text is decoded as a stream, so a UTF-8 character
 * split across reads is whole; byte patterns match the raw bytes. The
 * screen is `@xterm/headless` (an optional peer dependency), fed every
 * byte; a failure's message shows the escaped tail of the output and the
 * screen, and its stack starts at the test's own line.
 * @module
 */
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as util from 'node:util';
import type { Duplex } from 'node:stream';
import { DEFAULT_WINSIZE, echoing, type WinSize } from '../tty/console';
import { codedError } from '../errors';
import { INT32_MAX, U16_MAX, invalidArgType, validateInteger, validateObject, validateString } from '../validators';
import { Recording, checkRecordingDir, saveEvidence } from './cast';
import { encodeKey } from './keys';
import { Screen, ScreenModel, screenUnavailable } from './screen';
import { Transcript, escapeControls } from './transcript';
import { OutputMatcher, describePattern, isPattern, type ExpectMatch, type Pattern } from './match';
import { Waits, type CallSite, type WaitFailure } from './waits';
import { ShellMarks, commandLine, commandText, shellKind, shellLaunch, type Mark, type ShellLaunch } from './shell';
import { Kqueuer } from '../kqueuer/kqueuer';
import { DEFAULT_TERM, spawn, type PtyProcess } from '../process/spawn';

export { Screen, type Cell, type Color, type Cursor } from './screen';
export type { ExpectMatch, Pattern } from './match';

/**
 * A test runner's test, whose end closes the harness: tap's `t` (teardown;
 * `passing()` and `comment()` say and show a failure) or node:test's (after;
 * `passed` and `diagnostic()`).
 */
export type TestContext =
  | { teardown(fn: () => unknown): void; passing?(): boolean; comment?(...args: unknown[]): void }
  | { after(fn: () => unknown): void; readonly passed?: boolean; diagnostic?(message: string): void };

/** Where and when a harness writes its session as an asciicast v2 file. */
export interface RecordOptions {
  /**
   * The directory of the `.cast` files, made if missing (mode 0700); files
   * are written mode 0600, never through a link. Refused, with
   * ERR_UNSAFE_RECORDING_DIR when the harness is made, if it is a symbolic
   * link, another user's, or writable by others without the sticky bit.
   */
  dir: string;
  /** `'failure'` (the default): when a wait fails; `'always'`: also at close(). */
  when?: 'failure' | 'always';
  /** The file's name without `.cast`; default the test's name, else `harness-<pid>`. */
  name?: string;
  /** Record the input too (`i` events); default false. */
  input?: boolean;
  /**
   * With `input`: input typed while the program's terminal had ECHO off (a
   * password prompt) is recorded as `[redacted: typed with echo off]`
   * (the default, true), or as typed (false). A harness attached to a
   * stream cannot see the terminal: there input is recorded as typed.
   */
  redact?: boolean;
}

/** Options of every harness. */
export interface HarnessOptions {
  /** Milliseconds each wait may take unless it says otherwise; default 10,000. */
  timeout?: number;
  /** Bytes of output kept for matching and for failures (the oldest go first); default 1 MiB. */
  keep?: number;
  /**
   * Parse the output into a screen: true needs `@xterm/headless` (else
   * ERR_SCREEN_UNAVAILABLE); by default, where it is installed.
   */
  screen?: boolean;
  /** Window size; default 24 rows, 80 columns. */
  size?: WinSize;
  /** Close the harness when this test ends; its name names the recording. */
  test?: TestContext;
  /** Write the session's recording (kept always, within `keep` bytes) as a `.cast` file. */
  record?: RecordOptions;
}

/** Options of {@link Harness.spawn}. */
export interface HarnessSpawnOptions extends HarnessOptions {
  /** Arguments to the program. */
  args?: string[];
  /**
   * Environment; default `process.env`. `TERM` is `xterm-256color`, the
   * terminal the screen emulates, unless this env sets it (the runner's own
   * TERM is not passed on); `LANG` is `C.UTF-8` where no locale is set.
   */
  env?: NodeJS.ProcessEnv;
  /** Working directory; default `process.cwd()`. */
  cwd?: string;
  /** Put the pty in raw mode first (no echo, no CRLF translation). Default false. */
  raw?: boolean;
  /** The Kqueuer to use; by default one of the harness's own. */
  kqueuer?: Kqueuer;
}

/** Options of {@link Harness.shell}: {@link Harness.spawn}'s; `args` go after the shell's own. */
export type HarnessShellOptions = HarnessSpawnOptions;

/** What {@link Harness.run} reports of a command. */
export interface CommandResult {
  /** Its exit status, as the shell's `$?` says it (130 after ^C); null when the shell did not say. */
  exitCode: number | null;
  /** What it printed: no echo of the command, no prompt; escape sequences left out, lines ending in LF. */
  output: string;
  /** The same as the terminal shows it: one string per screen line (cursor movements applied). */
  lines: string[];
  /** The shell's working directory once it was done (OSC 7), or null. */
  cwd: string | null;
  /** From the command's sending to its end. */
  durationMs: number;
}

/** Options of a wait. */
export interface WaitOptions {
  /** Milliseconds before failing; default the harness's timeout. */
  timeout?: number;
}

/** What {@link Harness.waitFor} waits for: text or a RegExp on the screen's text, or a test of the screen. */
export type ScreenCondition = string | RegExp | ((screen: Screen) => boolean);

/** How the program ended, as exit() reports it. */
type ExitOutcome = { code: number | null } | { error: unknown };

/** The most lines `util.inspect()` gives an ExpectError (uncaught, console.log): the cells and the transcript are there to read, not to print. */
const INSPECT_LINES = 99;

/** The error of a wait that failed: it timed out, or the output ended first. */
export class ExpectError extends Error {
  /** `ERR_EXPECT_TIMEOUT` or `ERR_EXPECT_EOF`. */
  readonly code: 'ERR_EXPECT_TIMEOUT' | 'ERR_EXPECT_EOF';
  /** The output kept (the last `keep` bytes), decoded. Not enumerable: printing the error does not print it. */
  declare readonly transcript: string;
  /** The screen when it failed, or null without one. Not enumerable, as `transcript`. */
  declare readonly screen: Screen | null;
  /** The `.cast` file the session was written to, or null (see `record`). */
  castFile: string | null = null;

  /** @internal */
  constructor(code: ExpectError['code'], message: string, transcript: string, screen: Screen | null) {
    super(message);
    this.name = 'ExpectError';
    this.code = code;
    Object.defineProperty(this, 'transcript', { value: transcript, enumerable: false });
    Object.defineProperty(this, 'screen', { value: screen, enumerable: false });
  }

  /** What util.inspect() prints: the stack (message and frames) and castFile, within INSPECT_LINES lines. */
  [util.inspect.custom](): string {
    const lines = `${this.stack ?? `${this.name}: ${this.message}`}\n  castFile: ${JSON.stringify(this.castFile)}`.split('\n');
    if (lines.length <= INSPECT_LINES) return lines.join('\n');
    const cut = lines.length - INSPECT_LINES + 1;
    return [...lines.slice(0, INSPECT_LINES - 1), `  ... ${cut} more lines: see err.transcript, err.screen, err.castFile`].join('\n');
  }
}

/** The characters of output a failure's message shows, and at most how many of their lines. */
const TAIL = 2048;
const TAIL_LINES = 30;

/** A harness's options, checked, with their defaults, and its screen. */
interface Settings {
  timeout: number;
  keep: number;
  size: WinSize;
  model: ScreenModel | null;
  /** Why there is no screen, when screen: false made it so. */
  screenless: string | undefined;
  record: RecordOptions | undefined;
  test: TestContext | undefined;
  testName: string | undefined;
  term: string | undefined;
}

/**
 * @throws ERR_INVALID_ARG_TYPE / ERR_OUT_OF_RANGE for a bad option;
 *   ERR_SCREEN_UNAVAILABLE for screen: true without the package;
 *   ERR_UNSAFE_RECORDING_DIR for a record.dir a recording must not go in.
 */
function settingsOf(options: HarnessOptions, term?: string): Settings {
  const timeout = validateInteger(options.timeout ?? 10_000, 'options.timeout', 1, INT32_MAX);
  const keep = validateInteger(options.keep ?? 1 << 20, 'options.keep', 1024, INT32_MAX);
  const size = options.size ?? DEFAULT_WINSIZE;
  validateInteger(size.rows, 'options.size.rows', 1, U16_MAX);
  validateInteger(size.cols, 'options.size.cols', 1, U16_MAX);
  if (options.record !== undefined) checkRecordingDir(validateString(options.record.dir, 'options.record.dir'));
  const model = options.screen === false ? null : ScreenModel.create(size.rows, size.cols);
  if (model === null && options.screen === true) throw screenUnavailable();
  return {
    timeout,
    keep,
    size,
    model,
    screenless: options.screen === false ? 'is off: this harness was made with screen: false' : undefined,
    record: options.record,
    test: options.test,
    testName: (options.test as { name?: unknown } | undefined)?.name as string | undefined,
    term,
  };
}

/**
 * The program's environment: the test's (default `process.env`), with the
 * terminal the screen emulates (`TERM=xterm-256color`) unless the test's own
 * env sets TERM, so that a runner's `TERM=dumb` does not reach the program;
 * and a UTF-8 locale (`LANG=C.UTF-8`) where it names none.
 */
function programEnv(given: NodeJS.ProcessEnv | undefined): NodeJS.ProcessEnv {
  if (given !== undefined) validateObject(given, 'options.env');
  const env: NodeJS.ProcessEnv = { ...(given ?? process.env) };
  if (given?.TERM === undefined) env.TERM = DEFAULT_TERM;
  if (env.LC_ALL === undefined && env.LC_CTYPE === undefined && env.LANG === undefined) env.LANG = 'C.UTF-8';
  return env;
}

/* eslint-disable no-control-regex -- the output's escape sequences (ESC, BEL) are what these match. */
/** SGR sequences (colours, attributes) and OSCs (the shell's marks, titles): they move no cursor. */
const COLOURS_AND_MARKS = /\x1b\[[0-9;]*m|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)/g;
const PLAIN = /^[\x20-\x7e\n]*$/;
/* eslint-enable no-control-regex */

/** `raw` as a terminal `cols` wide shows it, a string per line; split at LF where there is no screen. */
async function screenLines(raw: string, cols: number): Promise<string[]> {
  const text = commandText(raw);
  const plain = text.split('\n');
  if (plain[plain.length - 1] === '') plain.pop();
  // Printable ASCII that only goes down the lines, none wider than the terminal, shows as it
  // reads: no terminal to make for it. Cursor movements, CRs, tabs and wide characters go through one.
  if (PLAIN.test(raw.replace(/\r\n/g, '\n').replace(COLOURS_AND_MARKS, '')) && plain.every((l) => l.length < cols)) {
    return plain.map((l) => l.trimEnd());
  }
  const rows = Math.min(10_000, raw.split('\n').length + 1);
  const model = ScreenModel.create(rows, cols);
  if (model === null) return plain;
  try {
    model.write(Buffer.from(`${raw}`));
    await model.flushed();
    const lines = model.lines();
    while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    return lines;
  } finally {
    model.dispose();
  }
}

/** The stack of the test's call into the harness: its frames, without the harness's. */
function callSite(fn: (...args: never[]) => unknown): CallSite {
  // V8 keeps the frames now and formats them when .stack is first read:
  // only a wait that fails pays for the text.
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder, fn);
  let text: string | undefined;
  return () => (text ??= (holder.stack ?? '').split('\n').slice(1).join('\n'));
}

/** Drives a terminal program through a stream; see the module comment. */
// One class, over 250 lines with its documentation: it is the one object a
// test holds, and its public members are what a test calls. Each is a few
// lines over the parts that do the work (Waits, OutputMatcher, ScreenModel,
// Transcript, Recording); splitting it further would mean delegators with
// copied documentation, which KqueueConsole has just shed.
export class Harness {
  private readonly stream: Duplex;
  private readonly out: Transcript;
  private readonly model: ScreenModel | null;
  private readonly defaultTimeout: number;
  private readonly child: PtyProcess | null;
  /** The Kqueuer the harness made, and closes; it holds the loop only while a wait runs. */
  private readonly ownKqueuer: Kqueuer | null;
  private readonly matcher: OutputMatcher;
  private readonly waits: Waits;
  private closed = false;
  /** Waits running: the loop is held while there are any. */
  private holds = 0;
  /** Why there is no screen when screen: false made it so (else: the package is missing). */
  private readonly screenless: string | undefined;
  /** The session as recorded so far (what recording() returns and saveRecording() writes). */
  private readonly recorded: Recording;
  private readonly recordOptions: RecordOptions | undefined;
  private readonly testName: string | undefined;
  /** The program's exit once known: its code, or why it cannot be known. */
  private exitOutcome: ExitOutcome | null = null;
  /** The terminal's columns (resize() changes them). */
  private width: number;
  /** A shell started by shell(): its files and the marks of its output. */
  private shellState: { launch: ShellLaunch; marks: ShellMarks } | null = null;

  /**
   * Drives `stream`: its readable side is the program's output, its writable
   * side the program's input. `exit` resolves with the program's exit code,
   * when there is one to know.
   */
  static attach(stream: Duplex, exit?: Promise<number | null>, options: HarnessOptions = {}): Harness {
    return new Harness(stream, exit ?? once(stream, 'close').then(() => null), settingsOf(options), null, null);
  }

  /**
   * Runs `file` on a new pty with the main entry's `spawn()`: a session of
   * its own with the pty as its controlling terminal, so job control and
   * ^C work. exit() resolves with its exit code (128 + the signal number
   * when a signal ended it). A harness that is never closed does not keep
   * the process alive between waits (close it, or pass `test`).
   * @throws as `spawn()`: `ENOENT` for a program that cannot be found, ...;
   *   ERR_SCREEN_UNAVAILABLE without `@xterm/headless` (unless `screen: false`).
   */
  static spawn(file: string, options: HarnessSpawnOptions = {}): Harness {
    // Everything that can fail on the options fails before the program starts.
    const env = programEnv(options.env);
    const settings = settingsOf(options, env.TERM);
    const own = options.kqueuer === undefined ? new Kqueuer().unref() : null;
    let p: PtyProcess;
    try {
      p = spawn(file, options.args ?? [], {
        env,
        cwd: options.cwd,
        rows: settings.size.rows,
        cols: settings.size.cols,
        raw: options.raw,
        kqueuer: options.kqueuer ?? own!,
      });
    } catch (err) {
      own?.close();
      settings.model?.dispose();
      throw err;
    }
    const exit = p.exited.then(({ exitCode, signal }) => exitCode ?? 128 + os.constants.signals[signal!]);
    exit.catch(() => {}); // exit() reports it; awaiting it is optional.
    return new Harness(p.console, exit, settings, p, own);
  }

  /**
   * Starts a shell (default `$SHELL`, else `sh`) interactive, with prompt
   * marks installed without touching the user's files (src/harness/shell.ts:
   * bash, zsh, fish, and POSIX sh as dash, ash or busybox), for run(),
   * waitForPrompt() and cwd. Otherwise as {@link spawn}.
   * @throws ERR_NO_SHELL_INTEGRATION for a shell that has none; as spawn().
   */
  static shell(shell?: string, options: HarnessShellOptions = {}): Harness {
    const file = validateString(shell ?? process.env.SHELL ?? 'sh', 'shell');
    validateObject(options, 'options');
    const kind = shellKind(file);
    if (kind === null) {
      throw codedError(
        'ERR_NO_SHELL_INTEGRATION',
        `${file}: no shell integration for it (bash, zsh, fish and sh, dash, ash, busybox have one)`,
      );
    }
    const launch = shellLaunch(file, kind, programEnv(options.env));
    let h: Harness;
    try {
      h = Harness.spawn(file, { ...options, args: [...launch.args, ...(options.args ?? [])], env: launch.env });
    } catch (err) {
      fs.rmSync(launch.dir, { recursive: true, force: true });
      throw err;
    }
    h.shellState = { launch, marks: new ShellMarks() };
    return h;
  }

  private constructor(stream: Duplex, exit: Promise<number | null>, settings: Settings, child: PtyProcess | null, own: Kqueuer | null) {
    this.defaultTimeout = settings.timeout;
    this.width = settings.size.cols;
    this.model = settings.model;
    this.screenless = settings.screenless;
    this.out = new Transcript(settings.keep);
    this.matcher = new OutputMatcher(this.out);
    this.waits = new Waits({
      screened: this.model !== null,
      error: (code, message, site) => this.error(code, message, site),
      hold: () => this.hold(),
      release: () => this.release(),
    });
    this.recorded = new Recording(settings.size, settings.keep, settings.record?.input === true, settings.term);
    this.recordOptions = settings.record;
    this.testName = settings.testName;
    this.stream = stream;
    exit.then(
      (code) => this.exited({ code }),
      (error: unknown) => this.exited({ error }),
    );
    this.child = child;
    this.ownKqueuer = own;
    stream.on('data', (chunk: Buffer | string) => this.onData(typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
    stream.on('end', () => this.onEnd());
    stream.on('error', (err) => this.waits.streamFailed(err));
    this.model?.onParsed(() => this.waits.changed('screen'));
    // The terminal's answers to the program's queries (cursor position,
    // device attributes, colours), as a terminal sends them: vim and others
    // wait for them.
    this.model?.onReply((data) => {
      if (!this.closed && !stream.destroyed) stream.write(data);
    });
    const t = settings.test;
    if (t !== undefined) {
      if ('teardown' in t) t.teardown(() => this.testEnded(t));
      else t.after(() => this.testEnded(t));
    }
  }

  /**
   * The bound test's end: a test that failed, for whatever reason (its own
   * assert, a throw, the runner's timeout), gets the evidence a failed wait
   * gives, the recording written and the screen shown where the runner
   * lets a hook add to its report; then the harness closes.
   */
  private testEnded(t: TestContext): void {
    const failed = 'teardown' in t ? t.passing?.() === false : t.passed === false;
    if (failed && !this.closed) {
      const castFile = this.recordOptions === undefined ? null : this.saveRecording();
      const screen = this.model?.snapshot() ?? null;
      const picture = castFile === null || screen === null ? null : this.savePicture(screen);
      let text = 'kqueue-console harness: the test failed';
      if (screen !== null) text += `; the screen at its end:\n${screen.render()}`;
      if (castFile !== null) text += `\nthe session, in asciicast v2: ${castFile}`;
      if (picture !== null) text += `\nthe screen as a picture: ${picture}`;
      if ('teardown' in t) t.comment?.(text);
      else for (const line of text.split('\n')) t.diagnostic?.(line); // One line each: node:test escapes line breaks.
    }
    this.close();
  }

  private exited(outcome: ExitOutcome): void {
    this.exitOutcome = outcome;
    this.waits.changed();
  }

  private onData(chunk: Buffer): void {
    const at = this.out.textEnd;
    this.out.push(chunk);
    this.shellState?.marks.scan(this.out.text(at), at);
    this.recorded.output(chunk);
    this.model?.write(chunk);
    this.waits.changed('output');
  }

  private onEnd(): void {
    this.out.end();
    this.waits.outputEnd();
    // The screen's last writes are parsed after the end: screen waits
    // fail once they are, not before.
    void this.model?.flushed().then(() => this.waits.screenParsedAll());
  }

  private error(code: WaitFailure, message: string, site: CallSite): ExpectError {
    const all = this.out.all;
    const tail = all.length > TAIL ? all.slice(-TAIL) : all;
    const screen = this.model?.snapshot() ?? null;
    const total = this.out.textEnd;
    // escapeControls() keeps each line break, so a line of the tail is a line of the message.
    const shownTail = tail.split('\n').slice(-TAIL_LINES).join('\n');
    const escaped = escapeControls(shownTail);
    const shown = shownTail.length;
    const which = shown === total ? 'the whole output' : `the output's last ${shown} of ${total} characters`;
    let text = `${message}\n--- ${which}, escaped:\n${escaped}`;
    if (screen !== null) text += `\n--- the screen:\n${screen.render()}`;
    const castFile = this.recordOptions === undefined ? null : this.saveRecording();
    const picture = castFile === null || screen === null ? null : this.savePicture(screen);
    if (castFile !== null) text += `\n--- the session, in asciicast v2: ${castFile}`;
    if (picture !== null) text += `\n--- the screen as a picture: ${picture}`;
    const err = new ExpectError(code, text, all, screen);
    err.castFile = castFile;
    err.stack = `${err.name} [${code}]: ${text}\n${site()}`;
    return err;
  }

  /** The session so far as an asciicast v2 file's text (the last `keep` bytes of events). */
  recording(): string {
    return this.recorded.text();
  }

  /** Writes the recording where `record` says; its path, or null when that fails (the failure's own error matters more). */
  private saveRecording(): string | null {
    try {
      return this.recorded.save(this.recordOptions!.dir, this.recordingName());
    } catch {
      return null;
    }
  }

  /** The recording's name: record.name, else the test's, else harness-<pid>. */
  private recordingName(): string {
    return this.recordOptions?.name ?? this.testName ?? `harness-${this.child?.pid ?? process.pid}`;
  }

  /** Writes `screen` as an SVG image beside the recording; its path, or null when that fails. */
  private savePicture(screen: Screen): string | null {
    try {
      return saveEvidence(this.recordOptions!.dir, this.recordingName(), '.svg', screen.toSVG());
    } catch {
      return null;
    }
  }

  /** The loop is held while a wait runs (the harness's own Kqueuer is unref'd otherwise). */
  private hold(): void {
    if (this.holds++ === 0) this.ownKqueuer?.ref();
  }

  private release(): void {
    if (--this.holds === 0 && !this.closed) this.ownKqueuer?.unref();
  }

  /** Throws ERR_HARNESS_CLOSED after close(), from `caller`'s call site (taken only then, unless given). */
  private checkOpen(caller: (...args: never[]) => unknown, site?: CallSite): void {
    if (!this.closed) return;
    const err = codedError('ERR_HARNESS_CLOSED', 'the harness is closed');
    err.stack = `${err.name} [ERR_HARNESS_CLOSED]: ${err.message}\n${(site ?? callSite(caller))()}`;
    throw err;
  }

  private timeoutOf(options: WaitOptions): number {
    validateObject(options, 'options');
    return options.timeout === undefined ? this.defaultTimeout : validateInteger(options.timeout, 'options.timeout', 1, INT32_MAX);
  }

  private requireScreen(): ScreenModel {
    if (this.model === null) throw screenUnavailable(this.screenless);
    return this.model;
  }

  /** Writes `data` to the program; resolves once it is in the kernel. */
  async send(data: string | Uint8Array): Promise<void> {
    this.checkOpen(this.send);
    if (typeof data !== 'string' && !(data instanceof Uint8Array)) throw invalidArgType('data', 'a string or a Uint8Array', data);
    await this.write(data);
  }

  /** Types `text` as a person would: its characters as they are. */
  async type(text: string): Promise<void> {
    this.checkOpen(this.type);
    await this.write(validateString(text, 'text'));
  }

  /**
   * Presses a key: a name (`Enter`, `Tab`, `Escape`, `Backspace`, `Up`,
   * `Down`, `Left`, `Right`, `Home`, `End`, `PageUp`, `PageDown`, `Insert`,
   * `Delete`, `F1`-`F12`, `KP0`-`KP9`, `KPEnter`) or a character, with
   * `C-`, `M-` or `S-` in front (`C-c`, `M-x`, `S-Tab`, `C-Left`). What it
   * sends follows the modes the program set: application cursor keys
   * (DECCKM) and the application keypad (DECKPAM).
   * @throws ERR_INVALID_ARG_VALUE for a key it does not know.
   */
  async press(key: string): Promise<void> {
    this.checkOpen(this.press);
    validateString(key, 'key');
    const modes = this.model?.keyModes ?? { applicationCursorKeys: false, applicationKeypad: false };
    await this.write(encodeKey(key, modes));
  }

  /**
   * Pastes `text` as a terminal does: line breaks as CR, and between the
   * bracketed-paste markers when the program turned that mode on
   * (`CSI ? 2004 h`).
   */
  async paste(text: string): Promise<void> {
    this.checkOpen(this.paste);
    validateString(text, 'text');
    const body = text.replace(/\r?\n/g, '\r');
    await this.write(this.model?.bracketedPaste ? `\x1b[200~${body}\x1b[201~` : body);
  }

  /** Writes to the program and records it; resolves once it is in the kernel. */
  private async write(data: string | Uint8Array): Promise<void> {
    if (this.recorded.input) {
      // The console's fd only while it is open: a closed one's number may be another fd's.
      const con = this.child?.console;
      const redact = this.recordOptions?.redact !== false && con !== undefined && !con.destroyed && echoing(con.fd) === false;
      this.recorded.sent(data, redact);
    }
    await new Promise<void>((resolve, reject) => {
      this.stream.write(data, (err) => (err ? reject(err) : resolve()));
    });
  }

  /**
   * Waits for output (since the last match) that matches `pattern`, or any
   * of a list of them (the first that matches wins; `index` says which): a
   * string, a RegExp (on the decoded text), or bytes (on the raw output).
   * Fails with an {@link ExpectError}: `ERR_EXPECT_TIMEOUT` when `timeout`
   * passes, `ERR_EXPECT_EOF` when the output ends first.
   * @throws ERR_INVALID_ARG_TYPE / ERR_OUT_OF_RANGE for a bad pattern or
   *   timeout; ERR_HARNESS_CLOSED after close().
   */
  async expect(pattern: Pattern | readonly Pattern[], options: WaitOptions = {}): Promise<ExpectMatch> {
    const site = callSite(this.expect);
    this.checkOpen(this.expect, site);
    const patterns = Array.isArray(pattern) ? (pattern as readonly unknown[]) : [pattern];
    if (patterns.length === 0 || !patterns.every(isPattern)) {
      throw invalidArgType('pattern', 'a string, a RegExp, a Uint8Array, or a non-empty array of them', pattern);
    }
    const timeout = this.timeoutOf(options);
    const what = `expect(${describePattern(pattern as Pattern)})`;
    return this.waits.wait(what, site, timeout, this.matcher.firstOf(patterns as Pattern[]), 'output');
  }

  /**
   * The screen as it is now: a snapshot of what has been parsed (call
   * waitFor() or waitForStable() first to have all the output in it).
   * @throws ERR_SCREEN_UNAVAILABLE without one.
   */
  screen(): Screen {
    return this.requireScreen().snapshot();
  }

  /**
   * Waits until the screen shows `condition`: a string in its text, a RegExp
   * matching its text, or a function of a snapshot that returns true. The
   * text is tried as it reads (rows without trailing blanks) and with every
   * cell of each row, so `waitFor('P> ')` finds a prompt's trailing space.
   * Checked now and each time the parser finishes a write (no polling).
   * Resolves with the snapshot that met it; fails with an
   * {@link ExpectError} as expect() does.
   */
  async waitFor(condition: ScreenCondition, options: WaitOptions = {}): Promise<Screen> {
    const site = callSite(this.waitFor);
    this.checkOpen(this.waitFor, site);
    const model = this.requireScreen();
    if (typeof condition !== 'string' && !(condition instanceof RegExp) && typeof condition !== 'function') {
      throw invalidArgType('condition', 'a string, a RegExp or a function', condition);
    }
    const timeout = this.timeoutOf(options);
    let test: () => Screen | null;
    if (typeof condition === 'function') {
      test = () => {
        const s = model.snapshot();
        return condition(s) ? s : null;
      };
    } else {
      const shown = typeof condition === 'string' ? (text: string) => text.includes(condition) : (text: string) => condition.test(text);
      // The text alone, until it matches: no cells copied per write. The
      // rows as they read, and with their trailing blanks (a prompt's space).
      test = () => (shown(model.lines().join('\n')) || shown(model.lines(false).join('\n')) ? model.snapshot() : null);
    }
    const what = `waitFor(${typeof condition === 'function' ? condition.name || 'a function' : describePattern(condition)})`;
    return this.waits.wait(what, site, timeout, test, 'screen');
  }

  /**
   * Waits until the screen has not changed for `quietMs` (default 200):
   * its text, cursor and title the same since the last change.
   */
  async waitForStable(options: WaitOptions & { quietMs?: number } = {}): Promise<Screen> {
    const site = callSite(this.waitForStable);
    this.checkOpen(this.waitForStable, site);
    const model = this.requireScreen();
    const timeout = this.timeoutOf(options);
    const quiet = validateInteger(options.quietMs ?? 200, 'options.quietMs', 1, INT32_MAX);
    await model.flushed();
    const changes = model.watchChanges();
    let timer: NodeJS.Timeout | undefined;
    // Each check sets the next: a write that changes the screen restarts
    // the quiet stretch; a stretch with none is seen by the timer.
    const quietScreen = (): Screen | null => {
      clearTimeout(timer);
      const left = quiet - changes.quietFor();
      if (left <= 0) return model.snapshot();
      timer = setTimeout(() => this.waits.changed(), left);
      return null;
    };
    try {
      return await this.waits.wait(`waitForStable({ quietMs: ${quiet} })`, site, timeout, quietScreen, 'screen', true);
    } finally {
      clearTimeout(timer);
      changes.stop();
    }
  }

  /**
   * Waits until the shell shows its prompt, ready for a command (its prompt
   * mark came after the last command's end), and the screen has it. Fails
   * as a wait does.
   * @throws ERR_NO_SHELL_INTEGRATION on a harness not started by shell().
   */
  async waitForPrompt(options: WaitOptions = {}): Promise<void> {
    const site = callSite(this.waitForPrompt);
    this.checkOpen(this.waitForPrompt, site);
    await this.promptReady(this.requireShell(site).marks, site, this.timeoutOf(options));
    // The screen shows what has been read: screen() after the wait has the prompt on it.
    await this.model?.flushed();
  }

  /** The shell's working directory as its last prompt said (OSC 7), or null before one (or without a shell). */
  get cwd(): string | null {
    return this.shellState?.marks.cwd ?? null;
  }

  /**
   * Whether the shell runs a command: it has started one (its output's C
   * mark) and not come back to its prompt. Input typed from then on goes to
   * the command; typed before, while the shell's line editor still has the
   * terminal (readline turns ICRNL off), an Enter would not end a `read`.
   */
  get commandRunning(): boolean {
    return this.shellState?.marks.last?.kind === 'C';
  }

  /**
   * Runs `command` in the shell (started by {@link shell}) as a person would
   * type it, each line then Enter, and resolves once its prompt is back with
   * what it printed and how it exited. Meanwhile the test may type into it
   * (`read x`), press ^C (exit code 130), or drive the full-screen program
   * it started. Fails as a wait does, within `timeout` (default the
   * harness's) for the prompt before it and the command's end. Like
   * expect(), it goes by the output: the screen parses it a moment later
   * (xterm.js parses on a timer), so call waitForPrompt() before screen().
   * @throws ERR_NO_SHELL_INTEGRATION at once on a harness not started by
   *   shell(), whose output has no marks to end a command by.
   */
  async run(command: string, options: WaitOptions = {}): Promise<CommandResult> {
    const site = callSite(this.run);
    this.checkOpen(this.run, site);
    validateString(command, 'command');
    const st = this.requireShell(site);
    const timeout = this.timeoutOf(options);
    const deadline = Date.now() + timeout;
    await this.promptReady(st.marks, site, timeout);
    const from = this.out.textEnd;
    const started = Date.now();
    await this.write(`${commandLine(st.launch.kind, command).replace(/\r?\n/g, '\r')}\r`);
    const ended = (): { marks: Mark[]; done: Mark } | null => {
      const marks = st.marks.after(from);
      const done = marks.find((m) => m.kind === 'D');
      return done !== undefined && marks.some((m) => m.kind === 'A' && m.at > done.at) ? { marks, done } : null;
    };
    const what = `run(${JSON.stringify(command)})`;
    const missed = 'the command had not finished';
    const { marks, done } = await this.waits.wait(what, site, Math.max(1, deadline - Date.now()), ended, 'output', false, missed);
    const durationMs = Date.now() - started;
    // The output begins at the C mark (after the echo of the command); with none, at the D mark (nothing printed).
    const start = marks.find((m) => m.kind === 'C' && m.at < done.at)?.at ?? done.at;
    const raw = this.out.text(start, done.at);
    return {
      exitCode: done.code ?? null,
      output: commandText(raw),
      lines: await screenLines(raw, this.width),
      cwd: st.marks.cwd,
      durationMs,
    };
  }

  private requireShell(site: CallSite): NonNullable<Harness['shellState']> {
    if (this.shellState !== null) return this.shellState;
    const err = codedError(
      'ERR_NO_SHELL_INTEGRATION',
      'this harness runs a program of its own, not a shell started by Harness.shell(): its output has no prompt marks to tell where a command ends',
    );
    err.stack = `${err.name} [ERR_NO_SHELL_INTEGRATION]: ${err.message}\n${site()}`;
    throw err;
  }

  /** Waits for the prompt's end (B) to be the last mark: a prompt drawn after the last command's end. */
  private async promptReady(marks: ShellMarks, site: CallSite, timeout: number): Promise<void> {
    const ready = (): true | null => {
      const last = marks.last;
      return marks.seenPrompt && last?.kind === 'B' ? true : null;
    };
    await this.waits.wait('the prompt', site, timeout, ready, 'output', false, 'no prompt mark (OSC 133) came');
  }

  /** Everything kept of the output (the last `keep` bytes), decoded as UTF-8. */
  transcript(): string {
    return this.out.all;
  }

  /** Everything kept of the output, as bytes. */
  transcriptBytes(): Buffer {
    return Buffer.from(this.out.bytes());
  }

  /** The spawned program's process id (undefined for an attached stream). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /**
   * Sends a signal to the spawned program (default SIGTERM), as
   * ChildProcess's kill(); false if it has exited.
   * @throws ERR_INVALID_STATE for an attached stream, whose program it does not know.
   */
  kill(signal: NodeJS.Signals | number = 'SIGTERM'): boolean {
    if (this.child === null) throw codedError('ERR_INVALID_STATE', 'kill(): this harness drives a stream, not a program it spawned');
    return this.child.kill(signal);
  }

  /** Resizes the pty (the program gets SIGWINCH) and the screen together. */
  resize(size: WinSize): void {
    this.checkOpen(this.resize);
    if (this.child !== null) this.child.resize(size);
    else if (typeof (this.stream as { resize?: unknown }).resize === 'function')
      (this.stream as unknown as { resize(s: WinSize): void }).resize(size);
    this.model?.resize(size.rows, size.cols);
    this.width = size.cols;
    this.recorded.resized(size.rows, size.cols);
  }

  /**
   * Resolves with the program's exit code (128 + the signal number when a
   * signal ended it; null when it cannot be known) once it has exited and
   * its output has been read to the end. Fails as a wait does, with an
   * {@link ExpectError} (`ERR_EXPECT_TIMEOUT`, the output's tail, the screen,
   * the recording, the stack at the test's line) when that has not happened
   * within `timeout` (default the harness's); the program runs on (close()
   * hangs it up).
   */
  async exit(options: WaitOptions = {}): Promise<number | null> {
    const site = callSite(this.exit);
    const timeout = this.timeoutOf(options);
    const exited = (): ExitOutcome | null => {
      // The exit, and all the output: the stream's end (or its destruction) too.
      if (this.exitOutcome === null || !(this.waits.ended || this.stream.readableEnded || this.stream.destroyed)) return null;
      return this.exitOutcome;
    };
    const outcome = await this.waits.wait('exit()', site, timeout, exited, 'output', true, 'the program had not exited');
    if ('error' in outcome) throw outcome.error;
    return outcome.code;
  }

  /**
   * Destroys the stream. A spawned program's terminal hangs up: its
   * foreground process group gets SIGHUP from the kernel. Waits still
   * running fail; later calls fail at once (ERR_HARNESS_CLOSED).
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.recordOptions?.when === 'always') this.saveRecording();
    this.stream.destroy();
    this.ownKqueuer?.close();
    this.waits.failAll('the harness was closed');
    this.model?.dispose();
    if (this.shellState !== null) fs.rmSync(this.shellState.launch.dir, { recursive: true, force: true });
  }
}
