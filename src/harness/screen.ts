/**
 * The screen a person would see: the program's output parsed by
 * `@xterm/headless`, the same parser as xterm.js's. The package is an
 * optional peer dependency, loaded only when a harness is made.
 * @module
 */
import type { IBufferCell, Terminal as XTerm } from '@xterm/headless';
import { codedError } from '../errors';
import { validateInteger } from '../validators';
import type { KeyModes } from './keys';
import { renderHTML, renderSVG } from './picture';
import type { Cell, Color, Cursor } from './cells';

export type { Cell, Color, Cursor } from './cells';

/** A snapshot of the screen, taken by {@link Harness.screen}; it does not change afterwards. */
export class Screen {
  /** The rows shown, each with its trailing blanks trimmed. */
  readonly lines: readonly string[];
  readonly rows: number;
  readonly cols: number;
  readonly cursor: Cursor;
  /** The alternate screen is shown (full-screen programs: vim, less, htop). */
  readonly alternate: boolean;
  /** The window title the program set (OSC 0 or 2), or ''. */
  readonly title: string;
  private readonly cells: readonly (readonly Cell[])[];

  /** @internal */
  constructor(init: { lines: string[]; cells: Cell[][]; cursor: Cursor; alternate: boolean; title: string }) {
    this.lines = init.lines;
    this.cells = init.cells;
    this.rows = init.lines.length;
    this.cols = init.cells[0]?.length ?? 0;
    this.cursor = init.cursor;
    this.alternate = init.alternate;
    this.title = init.title;
  }

  /** The rows joined with newlines, blank rows at the end left out. */
  get text(): string {
    let end = this.lines.length;
    while (end > 0 && this.lines[end - 1] === '') end--;
    return this.lines.slice(0, end).join('\n');
  }

  /**
   * The cell at `row`, `col` (0-based).
   * @throws ERR_OUT_OF_RANGE outside the screen; ERR_INVALID_ARG_TYPE for a non-number.
   */
  cell(row: number, col: number): Cell {
    return this.cells[validateInteger(row, 'row', 0, this.rows - 1)][validateInteger(col, 'col', 0, this.cols - 1)];
  }

  /**
   * The screen as an SVG image: each cell on a monospace grid with its
   * character, colours (palette or true colour; the default text light on
   * black), bold, italic, underline and inverse, and the cursor as a box.
   * A harness writes one beside its recording when a test fails.
   */
  toSVG(): string {
    return renderSVG(this.cells, this.cursor);
  }

  /** The same as a standalone HTML page: a `<pre>` of styled text, for a report to embed. */
  toHTML(): string {
    return renderHTML(this.cells, this.cursor);
  }

  /** The screen as a test failure shows it: each row between bars, the cursor's place below. */
  render(): string {
    const bar = `+${'-'.repeat(this.cols)}+`;
    const rows = this.lines.map((l) => `|${l.padEnd(this.cols)}|`);
    const where = `cursor at row ${this.cursor.row}, col ${this.cursor.col}${this.cursor.visible ? '' : ' (hidden)'}`;
    return [
      bar,
      ...rows,
      bar,
      `${where}${this.alternate ? '; alternate screen' : ''}${this.title ? `; title ${JSON.stringify(this.title)}` : ''}`,
    ].join('\n');
  }
}

type TerminalClass = typeof XTerm;

let loaded: TerminalClass | null | undefined;

/** `@xterm/headless`'s Terminal, loaded on first use; null when it is not installed. */
function terminalClass(): TerminalClass | null {
  if (loaded === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      loaded = (require('@xterm/headless') as { Terminal: TerminalClass }).Terminal;
    } catch {
      loaded = null;
    }
  }
  return loaded;
}

/** The error of a screen feature used where there is no screen. @internal */
export function screenUnavailable(why = 'needs @xterm/headless, an optional peer dependency'): Error {
  return codedError('ERR_SCREEN_UNAVAILABLE', `the harness's screen ${why}: npm install --save-dev @xterm/headless`);
}

function colorOf(cell: IBufferCell, which: 'fg' | 'bg'): Color {
  const fg = which === 'fg';
  if (fg ? cell.isFgDefault() : cell.isBgDefault()) return null;
  const v = fg ? cell.getFgColor() : cell.getBgColor();
  if (fg ? cell.isFgRGB() : cell.isBgRGB()) return `#${v.toString(16).padStart(6, '0')}`;
  return v;
}

/** The screen model a harness feeds: the parser, and what it does not keep itself. @internal */
export class ScreenModel {
  private readonly term: XTerm;
  private title = '';
  private cursorVisible = true;

  /** A screen, or null where `@xterm/headless` is not installed. */
  static create(rows: number, cols: number): ScreenModel | null {
    const Terminal = terminalClass();
    return Terminal === null ? null : new ScreenModel(new Terminal({ rows, cols, scrollback: 0, allowProposedApi: true }));
  }

  private constructor(term: XTerm) {
    this.term = term;
    this.term.onTitleChange((title) => (this.title = title));
    // DECTCEM (CSI ? 25 h / l) is not in the public modes; the default
    // handler still runs (false: not handled here).
    const cursorMode = (visible: boolean) => (params: (number | number[])[]) => {
      if (params.includes(25)) this.cursorVisible = visible;
      return false;
    };
    this.term.parser.registerCsiHandler({ prefix: '?', final: 'h' }, cursorMode(true));
    this.term.parser.registerCsiHandler({ prefix: '?', final: 'l' }, cursorMode(false));
  }

  write(data: Uint8Array): void {
    this.term.write(data);
  }

  /** Calls `listener` each time the parser has finished a write; returns its remover. */
  onParsed(listener: () => void): () => void {
    const d = this.term.onWriteParsed(listener);
    return () => d.dispose();
  }

  /** Calls `listener` with what the terminal answers the program (DSR, DA, OSC queries). */
  onReply(listener: (data: string) => void): void {
    this.term.onData(listener);
  }

  /**
   * How long the screen has been unchanged (its text, cursor, title and
   * buffer), followed from now on each parsed write until `stop()`.
   */
  watchChanges(): { quietFor(): number; stop(): void } {
    // What a snapshot shows but its cells: none are copied per write.
    const look = (): string => {
      const buf = this.term.buffer.active;
      return `${this.lines().join('\n')}\0${buf.cursorY},${buf.cursorX},${this.cursorVisible}\0${this.title}\0${buf.type}`;
    };
    let last = look();
    let since = Date.now();
    const stop = this.onParsed(() => {
      const now = look();
      if (now === last) return;
      last = now;
      since = Date.now();
    });
    return { quietFor: () => Date.now() - since, stop };
  }

  /** Resolves once everything written so far has been parsed. */
  flushed(): Promise<void> {
    return new Promise((resolve) => this.term.write('', resolve));
  }

  resize(rows: number, cols: number): void {
    this.term.resize(cols, rows);
  }

  get keyModes(): KeyModes {
    return { applicationCursorKeys: this.term.modes.applicationCursorKeysMode, applicationKeypad: this.term.modes.applicationKeypadMode };
  }

  get bracketedPaste(): boolean {
    return this.term.modes.bracketedPasteMode;
  }

  /**
   * The visible rows' text only: what waitFor(text) looks at, without the
   * cells. Trimmed of trailing blanks, or (`trim` false) every cell of the
   * row, blanks included: a prompt's last space is a cell too.
   */
  lines(trim = true): string[] {
    const buf = this.term.buffer.active;
    const out: string[] = [];
    for (let y = 0; y < this.term.rows; y++) {
      const row = buf.getLine(buf.viewportY + y)?.translateToString(trim) ?? '';
      out.push(trim ? row.trimEnd() : row.padEnd(this.term.cols));
    }
    return out;
  }

  snapshot(): Screen {
    const buf = this.term.buffer.active;
    const cells: Cell[][] = [];
    let scratch: IBufferCell | undefined;
    for (let y = 0; y < this.term.rows; y++) {
      const line = buf.getLine(buf.viewportY + y);
      const row: Cell[] = [];
      for (let x = 0; x < this.term.cols; x++) {
        const c = line?.getCell(x, scratch);
        scratch = c;
        row.push(
          c === undefined
            ? { char: ' ', fg: null, bg: null, bold: false, italic: false, underline: false, inverse: false }
            : {
                char: c.getWidth() === 0 ? '' : c.getChars() || ' ',
                fg: colorOf(c, 'fg'),
                bg: colorOf(c, 'bg'),
                bold: c.isBold() !== 0,
                italic: c.isItalic() !== 0,
                underline: c.isUnderline() !== 0,
                inverse: c.isInverse() !== 0,
              },
        );
      }
      cells.push(row);
    }
    return new Screen({
      lines: this.lines(),
      cells,
      cursor: { row: buf.cursorY, col: buf.cursorX, visible: this.cursorVisible },
      alternate: buf.type === 'alternate',
      title: this.title,
    });
  }

  dispose(): void {
    this.term.dispose();
  }
}
