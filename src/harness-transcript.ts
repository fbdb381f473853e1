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
  /** The text kept, and how many characters before it were dropped. */
  private kept = '';
  private charsDropped = 0;

  /** `limit`: bytes (and characters) kept; the oldest go first. */
  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bytesKept += chunk.length;
    this.kept += this.decoder.write(chunk);
    this.trim();
  }

  end(): void {
    this.kept += this.decoder.end();
  }

  /** Characters written so far, counting those dropped. */
  get textEnd(): number {
    return this.charsDropped + this.kept.length;
  }

  /** Characters written so far, counting those dropped. */
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
    return this.kept.slice(Math.max(0, from - this.charsDropped), Math.max(0, to - this.charsDropped));
  }

  /** Position of `needle` at or after `from`, or -1. */
  indexOf(needle: string, from: number): number {
    const i = this.kept.indexOf(needle, Math.max(0, from - this.charsDropped));
    return i < 0 ? -1 : i + this.charsDropped;
  }

  /** The bytes kept. */
  bytes(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.bytesKept)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  /** The text kept, as a whole. */
  get all(): string {
    return this.kept;
  }

  private trim(): void {
    // Whole chunks go once they are past the limit; the text when it is
    // twice the limit, so that slicing it is amortized.
    while (this.chunks.length > 1 && this.bytesKept - this.chunks[0].length >= this.limit) {
      const first = this.chunks.shift()!;
      this.bytesKept -= first.length;
      this.bytesDropped += first.length;
    }
    if (this.kept.length > 2 * this.limit) {
      const drop = this.kept.length - this.limit;
      this.kept = this.kept.slice(drop);
      this.charsDropped += drop;
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
