/**
 * The scrollback a session's screen keeps beyond its parser's window, as
 * text. `@xterm/headless` holds each line as 12 bytes a cell whatever it
 * shows (a 200-column line: 2,400 bytes, so 2.5 MB for 1,000 lines); a
 * line as the escape sequences that draw it is its characters and its
 * colour changes. So the parser keeps a window of the newest lines, and
 * lines older than its middle are serialized (addon-serialize, one line
 * at a time) into this list before the parser drops them.
 *
 * A write adds at most half a window of rows between two collections
 * (ScreenMirror splits what it writes: splitLines(), a row for each line
 * feed and for each `cols` bytes that may wrap), so no line leaves the
 * parser before it is here. A marker (xterm's, which follows its line
 * as the buffer scrolls) is on the first line not collected yet. Erasing
 * the scrollback (CSI 3 J) or a reset (RIS) clears this list as it clears
 * the parser's.
 * @module
 */
import type { IMarker, Terminal as XTerm } from '@xterm/headless';
import type { SerializeAddon as Serializer } from '@xterm/addon-serialize';

/** The lines of scrollback the parser itself keeps when a session keeps more. */
export const WINDOW = 256;

export class History {
  /** Each line's text, after what joins it to the one before: CRLF, or nothing for the rest of a wrapped line. */
  private lines: string[] = [];
  private mark: IMarker | undefined;

  /** `max`: the lines kept here at most (the session's scrollback less half the window). */
  constructor(
    private readonly term: XTerm,
    private readonly serializer: Serializer,
    private readonly max: number,
  ) {
    term.parser.registerCsiHandler({ final: 'J' }, (params) => {
      if (params[0] === 3) this.clear();
      return false;
    });
    term.parser.registerEscHandler({ final: 'c' }, () => {
      this.clear();
      return false;
    });
  }

  /** The index in the normal buffer of its first line not collected here. */
  get firstKept(): number {
    return this.mark === undefined || this.mark.isDisposed ? 0 : this.mark.line;
  }

  /** Moves the normal buffer's lines older than the window's middle here (on the alternate screen, nothing scrolls). */
  collect(): void {
    const buffer = this.term.buffer.normal;
    if (this.term.buffer.active.type !== 'normal') return;
    const end = buffer.length - this.term.rows - (WINDOW >> 1);
    const from = this.firstKept;
    if (end <= from) return;
    for (let i = from; i < end; i++) {
      const text = this.serializer.serialize({ range: { start: i, end: i }, excludeAltBuffer: true, excludeModes: true });
      // The serializer builds a line by concatenation, a tree of pieces that holds far more
      // than the line (a V8 cons string); a copy through UTF-8 is one flat string.
      const line = (buffer.getLine(i)?.isWrapped ? '' : '\r\n') + text + '\x1b[0m';
      this.lines.push(Buffer.from(line).toString());
    }
    if (this.lines.length > this.max + (this.max >> 2)) this.lines.splice(0, this.lines.length - this.max);
    this.mark?.dispose();
    this.mark = this.term.registerMarker(end - (buffer.baseY + buffer.cursorY));
  }

  /** The newest `count` lines as bytes for a fresh terminal, ready for the parser's first kept line. */
  text(count: number): string {
    if (count <= 0 || this.lines.length === 0) return '';
    const shown = this.lines.slice(-count);
    const first = this.firstKept;
    const next = this.term.buffer.normal.getLine(first)?.isWrapped ? '' : '\r\n';
    // The first line starts the terminal: nothing joins it to a line before.
    return shown.join('').replace(/^\r\n/, '') + next;
  }

  get length(): number {
    return this.lines.length;
  }

  clear(): void {
    this.lines = [];
    this.mark?.dispose();
    this.mark = undefined;
  }
}

/**
 * `chunk` cut so that no piece holds more than `lines` line feeds (LF, VT
 * and FF move down a line) or `bytes` bytes (what wraps): a piece can add
 * at most so many lines to the scrollback.
 */
export function splitLines(chunk: Uint8Array, lines: number, bytes: number): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  let start = 0;
  let feeds = 0;
  for (let i = 0; i < chunk.length; i++) {
    const b = chunk[i];
    if (b === 0x0a || b === 0x0b || b === 0x0c) feeds++;
    if (feeds === lines || i + 1 - start === bytes) {
      pieces.push(chunk.subarray(start, i + 1));
      start = i + 1;
      feeds = 0;
    }
  }
  if (start < chunk.length) pieces.push(chunk.subarray(start));
  return pieces;
}
