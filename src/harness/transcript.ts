/**
 * What a harness keeps of a program's output: the bytes and their UTF-8
 * text, up to a bound, with positions counted from the first byte ever
 * written so that a match's place survives the trimming of what came
 * before it.
 * @internal
 */
import { StringDecoder } from 'node:string_decoder';

export class Transcript {
  private readonly decoder = new StringDecoder('utf8');
  private chunks: Buffer[] = [];
  /** Bytes dropped from the front, and the bytes kept. */
  private bytesDropped = 0;
  private bytesKept = 0;
  /**
   * The text kept, as the pieces decoded from each read, each with the
   * position of its first character: a search joins only the pieces it
   * looks at (a string built by += is flattened whole by each indexOf).
   */
  private pieces: string[] = [];
  private starts: number[] = [];
  private charsDropped = 0;
  private charsKept = 0;

  /** `limit`: bytes (and characters) kept; the oldest go first. */
  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bytesKept += chunk.length;
    this.add(this.decoder.write(chunk));
    this.trim();
  }

  end(): void {
    this.add(this.decoder.end());
  }

  /** Characters written so far, counting those dropped. */
  get textEnd(): number {
    return this.charsDropped + this.charsKept;
  }

  /** Bytes written so far, counting those dropped. */
  get byteEnd(): number {
    return this.bytesDropped + this.bytesKept;
  }

  /** The first character still kept. */
  get textStart(): number {
    return this.charsDropped;
  }

  get byteStart(): number {
    return this.bytesDropped;
  }

  /** The text kept from position `from` (clamped to what is kept) to `to`. */
  text(from = 0, to = this.textEnd): string {
    const start = Math.max(from, this.charsDropped);
    if (start >= to) return '';
    const i = this.pieceAt(start);
    const joined = this.pieces.slice(i).join('');
    return joined.slice(start - this.starts[i], to - this.starts[i]);
  }

  /** Position of `needle` at or after `from`, or -1. */
  indexOf(needle: string, from: number): number {
    const start = Math.max(from, this.charsDropped);
    if (start >= this.textEnd) return -1;
    const i = this.pieceAt(start);
    const found = this.pieces
      .slice(i)
      .join('')
      .indexOf(needle, start - this.starts[i]);
    return found < 0 ? -1 : found + this.starts[i];
  }

  /** The bytes kept. */
  bytes(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.bytesKept)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  /** The text kept, as a whole. */
  get all(): string {
    return this.text(this.charsDropped);
  }

  private add(text: string): void {
    if (text === '') return;
    this.starts.push(this.textEnd);
    this.pieces.push(text);
    this.charsKept += text.length;
  }

  /** The piece holding position `at` (searched from the end: waits look at the newest text). */
  private pieceAt(at: number): number {
    let i = this.pieces.length - 1;
    while (i > 0 && this.starts[i] > at) i--;
    return i;
  }

  private trim(): void {
    // Whole reads go once what is left without them is past the limit.
    while (this.chunks.length > 1 && this.bytesKept - this.chunks[0].length >= this.limit) {
      const first = this.chunks.shift()!;
      this.bytesKept -= first.length;
      this.bytesDropped += first.length;
    }
    let drop = 0;
    while (drop < this.pieces.length - 1 && this.charsKept - this.pieces[drop].length >= this.limit) {
      this.charsKept -= this.pieces[drop].length;
      this.charsDropped += this.pieces[drop].length;
      drop++;
    }
    if (drop > 0) {
      this.pieces.splice(0, drop);
      this.starts.splice(0, drop);
    }
  }
}

/**
 * `text` with its control characters visible: ESC as `\e`, CR and LF as
 * `\r` and `\n` (a line break follows each `\n`), other C0 and C1 codes as
 * `\xNN`.
 */
export function escapeControls(text: string): string {
  let out = '';
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (ch === '\x1b') out += '\\e';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\n') out += '\\n\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\\') out += '\\\\';
    else if (c < 0x20 || (c >= 0x7f && c < 0xa0)) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out;
}
