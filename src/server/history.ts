/**
 * The scrollback a session's screen keeps beyond its parser's window, as
 * text. `@xterm/headless` holds each line as 12 bytes a cell whatever it
 * shows (a 200-column line: 2,400 bytes, so 2.5 MB for 1,000 lines); a
 * line as the escape sequences that draw it is its characters and its
 * colour changes. So the parser keeps a window of the newest lines, and
 * lines older than its middle are serialized (addon-serialize, the rows
 * of each collection in one pass) into this list before the parser drops
 * them.
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
import type { IBuffer, IMarker, Terminal as XTerm } from '@xterm/headless';
import type { SerializeAddon as Serializer } from '@xterm/addon-serialize';

/** The lines of scrollback the parser itself keeps when a session keeps more. */
export const WINDOW = 256;

/** Rows serialized together, after what joins them to the rows before: CRLF, or nothing for the rest of a wrapped line. */
interface Block {
  text: string;
  rows: number;
}

export class History {
  /** Oldest first; one block for each collection. */
  private blocks: Block[] = [];
  /** The rows the blocks hold. */
  private rows = 0;
  private mark: IMarker | undefined;

  /**
   * `max`: the rows kept here (the session's scrollback less half the
   * window), less than a block more at times: the terminal a snapshot is
   * written to keeps its own scrollback, and drops what is beyond it.
   */
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

  /**
   * Moves the normal buffer's lines older than the window's middle here (on
   * the alternate screen, nothing scrolls). `ahead`: the line feeds in the
   * output already queued behind this point. Rows that many rows would push
   * out of the history are not serialized: in a flood (`yes`) most rows
   * pass through, and a serializer pass costs as much again as parsing a
   * short line. A line feed that does not scroll (a program moving its
   * cursor down) costs the history rows it would have kept, nothing else.
   */
  collect(ahead: number): void {
    const buffer = this.term.buffer.normal;
    if (this.term.buffer.active.type !== 'normal') return;
    const end = buffer.length - this.term.rows - (WINDOW >> 1);
    const from = this.firstKept;
    if (end <= from) return;
    const start = Math.max(from, end - Math.max(0, this.max - ahead));
    if (start > from) {
      // Rows skipped: everything older goes out with them.
      this.blocks = [];
      this.rows = 0;
    }
    if (start < end) this.add(buffer, start, end);
    this.mark?.dispose();
    this.mark = this.term.registerMarker(end - (buffer.baseY + buffer.cursorY));
  }

  /** Serializes rows [start, end) as one block, in one serializer pass. */
  private add(buffer: IBuffer, start: number, end: number): void {
    const text = this.serializer.serialize({ range: { start, end: end - 1 }, excludeAltBuffer: true, excludeModes: true });
    // The serializer builds its text by concatenation, a tree of pieces that holds far
    // more than the text (a V8 cons string); a copy through UTF-8 is one flat string.
    const joined = (buffer.getLine(start)?.isWrapped ? '' : '\r\n') + text + '\x1b[0m';
    this.blocks.push({ text: Buffer.from(joined).toString(), rows: end - start });
    this.rows += end - start;
    while (this.rows - this.blocks[0].rows >= this.max) this.rows -= this.blocks.shift()!.rows;
  }

  /**
   * The newest `count` rows, or up to a block more, as bytes for a fresh
   * terminal, ready for the parser's first kept line.
   */
  text(count: number): string {
    let first = this.blocks.length;
    for (let rows = 0; first > 0 && rows < count;) rows += this.blocks[--first].rows;
    if (count <= 0 || first === this.blocks.length) return '';
    const next = this.term.buffer.normal.getLine(this.firstKept)?.isWrapped ? '' : '\r\n';
    // The first row starts the terminal: nothing joins it to a row before.
    return (
      this.blocks
        .slice(first)
        .map((b) => b.text)
        .join('')
        .replace(/^\r\n/, '') + next
    );
  }

  clear(): void {
    this.blocks = [];
    this.rows = 0;
    this.mark?.dispose();
    this.mark = undefined;
  }
}

/**
 * `chunk` cut so that no piece holds more than `lines` line feeds (LF, VT
 * and FF move down a line) or `bytes` bytes (what wraps): a piece can add
 * at most so many lines to the scrollback. Each piece with its line feeds.
 */
export function splitLines(chunk: Uint8Array, lines: number, bytes: number): { piece: Uint8Array; feeds: number }[] {
  const pieces: { piece: Uint8Array; feeds: number }[] = [];
  let start = 0;
  let feeds = 0;
  for (let i = 0; i < chunk.length; i++) {
    const b = chunk[i];
    if (b === 0x0a || b === 0x0b || b === 0x0c) feeds++;
    if (feeds === lines || i + 1 - start === bytes) {
      pieces.push({ piece: chunk.subarray(start, i + 1), feeds });
      start = i + 1;
      feeds = 0;
    }
  }
  if (start < chunk.length) pieces.push({ piece: chunk.subarray(start), feeds });
  return pieces;
}
