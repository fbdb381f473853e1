/**
 * An expect-style driver for testing terminal programs through streams:
 * spawn a program on a pty (the main entry's `spawn()`), or attach to any
 * Duplex that talks to one, send input, and wait for output that matches.
 *
 * ```ts
 * const h = Harness.spawn('sh');
 * await h.expect('$ ');
 * await h.send('echo hi\n');
 * await h.expect(/hi\r\n/);
 * await h.send('exit\n');
 * console.log(await h.exit());
 * ```
 *
 * Matching runs on the whole output since the last match, so a match split
 * across reads is found; text is decoded as a stream, so a UTF-8 character
 * split across reads is whole; byte patterns match the raw bytes.
 * @module
 */
import { once } from 'node:events';
import * as os from 'node:os';
import type { Duplex } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { WinSize } from './console';
import { codedError } from './errors';
import type { Kqueuer } from './kqueuer';
import { spawn } from './spawn';

/** Options of {@link Harness.spawn}. */
export interface HarnessSpawnOptions {
  /** Arguments to the program. */
  args?: string[];
  /** Environment; default `process.env`. `TERM` is `xterm-256color` unless the environment sets it. */
  env?: NodeJS.ProcessEnv;
  /** Working directory; default `process.cwd()`. */
  cwd?: string;
  /** Window size; default 24 rows, 80 columns. */
  size?: WinSize;
  /** Put the pty in raw mode first (no echo, no CRLF translation). Default false. */
  raw?: boolean;
  /** The Kqueuer to use; by default one shared per thread. */
  kqueuer?: Kqueuer;
}

/** What {@link Harness.expect} resolves with. */
export interface ExpectMatch {
  /** The matched text (for a byte pattern, its latin1 form). */
  match: string;
  /** A RegExp's capture groups (index 1 on), else empty. */
  groups: (string | undefined)[];
  /** The output between the previous match and this one. */
  before: string;
}

/** Options of {@link Harness.expect}. */
export interface ExpectOptions {
  /** Milliseconds to wait before failing; default 10,000. */
  timeout?: number;
}

interface Waiter {
  test: () => ExpectMatch | null;
  resolve: (m: ExpectMatch) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** Drives a terminal program through a stream; see the module comment. */
export class Harness {
  private readonly stream: Duplex;
  private readonly exitCode: Promise<number | null>;
  private readonly decoder = new StringDecoder('utf8');
  private readonly bytes: Buffer[] = [];
  private text = '';
  private textCursor = 0;
  private byteCursor = 0;
  private byteLength = 0;
  private ended = false;
  private failure: Error | null = null;
  private readonly waiters = new Set<Waiter>();

  /**
   * Drives `stream`: its readable side is the program's output, its writable
   * side the program's input. `exit` resolves with the program's exit code,
   * when there is one to know.
   */
  static attach(stream: Duplex, exit?: Promise<number | null>): Harness {
    return new Harness(stream, exit ?? once(stream, 'close').then(() => null));
  }

  /**
   * Runs `file` on a new pty with the main entry's `spawn()`: a session of
   * its own with the pty as its controlling terminal, so job control and
   * ^C work. exit() resolves with its exit code (128 + the signal number
   * when a signal ended it).
   * @throws as `spawn()`: `ENOENT` for a program that cannot be found, ...
   */
  static spawn(file: string, options: HarnessSpawnOptions = {}): Harness {
    const size = options.size ?? { rows: 24, cols: 80 };
    const p = spawn(file, options.args ?? [], {
      env: options.env,
      cwd: options.cwd,
      rows: size.rows,
      cols: size.cols,
      raw: options.raw,
      kqueuer: options.kqueuer,
    });
    const exit = p.exited.then(({ exitCode, signal }) => exitCode ?? 128 + os.constants.signals[signal!]);
    exit.catch(() => {}); // exit() reports it; awaiting it is optional.
    return new Harness(p.console, exit);
  }

  private constructor(stream: Duplex, exit: Promise<number | null>) {
    this.stream = stream;
    this.exitCode = exit;
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.on('end', () => this.onEnd());
    stream.on('error', (err) => {
      this.failure = err;
      this.settleAll();
    });
  }

  private onData(chunk: Buffer | string): void {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.bytes.push(buf);
    this.byteLength += buf.length;
    this.text += this.decoder.write(buf);
    this.settleAll();
  }

  private onEnd(): void {
    this.text += this.decoder.end();
    this.ended = true;
    this.settleAll();
  }

  private settleAll(): void {
    for (const w of this.waiters) {
      const m = w.test();
      if (m !== null) {
        this.waiters.delete(w);
        clearTimeout(w.timer);
        w.resolve(m);
      } else if (this.ended || this.failure) {
        this.waiters.delete(w);
        clearTimeout(w.timer);
        w.reject(this.noMatch(this.failure ? `the stream failed (${this.failure.message})` : 'the output ended'));
      }
    }
  }

  private noMatch(why: string, pattern?: unknown): Error {
    return codedError(
      'ERR_EXPECT_TIMEOUT',
      `expect(${pattern === undefined ? '' : String(pattern)}): ${why}; the transcript so far:\n${this.text}`,
      { transcript: this.text },
    );
  }

  /** Writes `data` to the program; resolves once it is in the kernel. */
  send(data: string | Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      this.stream.write(data, (err) => (err ? reject(err) : resolve()));
    });
  }

  /**
   * Waits for output (since the last match) that matches `pattern`: a
   * string, a RegExp (on the decoded text), or bytes (on the raw output).
   * Rejects with the transcript so far when `timeout` passes or the output
   * ends first.
   */
  expect(pattern: string | RegExp | Uint8Array, options: ExpectOptions = {}): Promise<ExpectMatch> {
    const timeout = options.timeout ?? 10_000;
    const test = this.matcher(pattern);
    const found = test();
    if (found !== null) return Promise.resolve(found);
    if (this.ended || this.failure) return Promise.reject(this.noMatch('the output ended', pattern));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        test,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          reject(this.noMatch(`no match in ${timeout} ms`, pattern));
        }, timeout),
      };
      this.waiters.add(waiter);
    });
  }

  /**
   * A test for `pattern` against the output since the last match. String and
   * byte patterns remember how far they have looked, so a long output is
   * scanned once, not once per chunk; a RegExp looks again at the whole
   * unmatched text each time (a pattern like /x+y/ over a long run of x's is
   * quadratic: prefer a string where one will do).
   */
  private matcher(pattern: string | RegExp | Uint8Array): () => ExpectMatch | null {
    if (pattern instanceof RegExp) {
      const re = new RegExp(pattern.source, pattern.flags.replace('g', ''));
      return () => {
        const rest = this.text.slice(this.textCursor);
        const m = re.exec(rest);
        if (m === null) return null;
        this.textCursor += m.index + m[0].length;
        return { match: m[0], groups: m.slice(1), before: rest.slice(0, m.index) };
      };
    }
    if (typeof pattern === 'string') {
      let scanned = this.textCursor;
      return () => {
        const from = Math.max(this.textCursor, scanned - pattern.length + 1);
        const index = this.text.indexOf(pattern, from);
        if (index < 0) {
          scanned = this.text.length;
          return null;
        }
        const before = this.text.slice(this.textCursor, index);
        this.textCursor = index + pattern.length;
        return { match: pattern, groups: [], before };
      };
    }
    let scanned = this.byteCursor;
    return () => {
      const all = this.transcriptBytes();
      const from = Math.max(this.byteCursor, scanned - pattern.length + 1);
      const index = all.indexOf(pattern, from);
      if (index < 0) {
        scanned = all.length;
        return null;
      }
      const before = all.subarray(this.byteCursor, index).toString('latin1');
      this.byteCursor = index + pattern.length;
      return { match: Buffer.from(pattern).toString('latin1'), groups: [], before };
    };
  }

  /** Everything the program has written so far, decoded as UTF-8. */
  transcript(): string {
    return this.text;
  }

  /** Everything the program has written so far, as bytes. */
  transcriptBytes(): Buffer {
    return Buffer.concat(this.bytes, this.byteLength);
  }

  /**
   * Resolves with the program's exit code (128 + the signal number when a
   * signal ended it; null when it cannot be known) once it has exited and
   * its output has been read to the end.
   */
  async exit(): Promise<number | null> {
    const code = await this.exitCode;
    if (!this.ended && !this.stream.readableEnded && !this.stream.destroyed) await once(this.stream, 'end');
    return code;
  }

  /**
   * Destroys the stream. A spawned program's terminal hangs up: its
   * foreground process group gets SIGHUP from the kernel.
   */
  close(): void {
    this.stream.destroy();
  }
}
