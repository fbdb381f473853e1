/**
 * A session's recording in asciicast v2 (docs.asciinema.org, "asciicast v2"):
 * a header line, then one JSON array per event, `[seconds, code, data]`,
 * with `o` for output, `i` for input and `r` for a resize (`COLSxROWS`).
 * Events are kept as they come (output as the Buffers read) and encoded
 * only when the file is asked for; past a bound they go first-in
 * first-out, so a long session keeps its end, which is where a failure is.
 * @internal
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { codedError } from '../errors';
import { DEFAULT_TERM } from '../process/spawn';

/**
 * Refuses a directory a recording must not be written in, with
 * ERR_UNSAFE_RECORDING_DIR: a symbolic link, no directory, one owned by
 * another user (root's excepted), or one that others may write without
 * the sticky bit (any of them could replace the file). A directory that
 * does not exist yet is fine: save() makes it, mode 0700.
 */
export function checkRecordingDir(dir: string): void {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const uid = process.getuid?.();
  let why: string | null = null;
  if (st.isSymbolicLink()) why = 'is a symbolic link';
  else if (!st.isDirectory()) why = 'is no directory';
  else if (uid !== undefined && st.uid !== uid && st.uid !== 0) why = `belongs to user ${st.uid}`;
  else if ((st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0) why = 'may be written by other users, and is not sticky';
  if (why !== null) {
    throw codedError('ERR_UNSAFE_RECORDING_DIR', `record.dir ${JSON.stringify(dir)} ${why}: a recording is not written there`, {
      path: dir,
    });
  }
}

/**
 * Writes `text` to `dir/name<ext>` (the name made safe as a file's), mode
 * 0600 (the directory made if missing, mode 0700); returns the path. The
 * text goes to a new file of a random name, opened O_CREAT | O_EXCL |
 * O_NOFOLLOW, renamed over the name: a link planted at the name is
 * replaced, never followed.
 * @throws ERR_UNSAFE_RECORDING_DIR (see checkRecordingDir); errno errors.
 */
export function saveEvidence(dir: string, name: string, ext: string, text: string): string {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  checkRecordingDir(dir);
  const base = name.replace(/[^\w.-]+/g, '_').slice(0, 120) || 'harness';
  const file = path.join(dir, `${base}${ext}`);
  const temporary = path.join(dir, `.${base}.${randomBytes(6).toString('hex')}.tmp`);
  const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
  const fd = fs.openSync(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  try {
    try {
      fs.writeFileSync(fd, text);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temporary, file);
  } catch (err) {
    // ENOSPC, EPERM (another user's file at the name, in a sticky directory): no temporary left.
    fs.rmSync(temporary, { force: true });
    throw err;
  }
  return file;
}

/** What a recording holds of input typed while the terminal did not echo it. */
const REDACTED = '[redacted: typed with echo off]';

interface Event {
  seconds: number;
  code: 'o' | 'i' | 'r';
  data: Buffer | string;
  /** The screen's size when it came. */
  rows: number;
  cols: number;
}

export class Recording {
  private readonly started = process.hrtime.bigint();
  private readonly startedAt = Math.floor(Date.now() / 1000);
  private readonly initial: { rows: number; cols: number };
  private events: Event[] = [];
  private first = 0;
  private bytes = 0;
  private dropped = 0;

  constructor(
    private size: { rows: number; cols: number },
    private readonly limit: number,
    /** Whether input is recorded (`i` events). */
    readonly input: boolean,
    private readonly term: string | undefined,
  ) {
    this.initial = { ...size };
  }

  output(chunk: Buffer): void {
    this.add('o', chunk);
  }

  /** Input, recorded when asked for; `redacted`: typed with echo off (a password), so kept as a marker. */
  sent(data: string | Uint8Array, redacted = false): void {
    if (!this.input) return;
    this.add('i', redacted ? REDACTED : typeof data === 'string' ? data : Buffer.from(data).toString('utf8'));
  }

  resized(rows: number, cols: number): void {
    this.size = { rows, cols };
    this.add('r', `${cols}x${rows}`);
  }

  /** The recording as an asciicast v2 file's text. */
  text(): string {
    const kept = this.events.slice(this.first);
    // After a drop, the size is the first kept event's.
    const size = this.dropped > 0 ? kept[0] : this.initial;
    const header = {
      version: 2,
      width: size.cols,
      height: size.rows,
      timestamp: this.startedAt,
      env: { TERM: this.term ?? DEFAULT_TERM },
      ...(this.dropped > 0 ? { title: `the first ${this.dropped} events were dropped to stay within the bound` } : {}),
    };
    // Output is decoded as one stream: a character split across reads is whole.
    const decoder = new StringDecoder('utf8');
    let out = `${JSON.stringify(header)}\n`;
    for (const e of kept) {
      const data = typeof e.data === 'string' ? e.data : decoder.write(e.data);
      if (data !== '') out += `${JSON.stringify([Number(e.seconds.toFixed(6)), e.code, data])}\n`;
    }
    return out;
  }

  /**
   * Writes the recording to `dir/name.cast` (see {@link saveEvidence});
   * returns the path.
   */
  save(dir: string, name: string): string {
    return saveEvidence(dir, name, '.cast', this.text());
  }

  private add(code: Event['code'], data: Buffer | string): void {
    const seconds = Number(process.hrtime.bigint() - this.started) / 1e9;
    this.events.push({ seconds, code, data, ...this.size });
    this.bytes += data.length;
    while (this.bytes > this.limit && this.events.length - this.first > 1) {
      this.bytes -= this.events[this.first].data.length;
      this.first++;
      this.dropped++;
    }
    // The array is rebuilt once it is mostly dropped events.
    if (this.first > 1024 && this.first * 2 > this.events.length) {
      this.events = this.events.slice(this.first);
      this.first = 0;
    }
  }
}
