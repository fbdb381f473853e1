/**
 * A session's screen kept by the server: the program's output parsed by
 * `@xterm/headless` (the parser xterm.js draws with), so that a client
 * that attaches late gets the screen as it is, not the bytes that made it.
 *
 * `snapshot()` is a byte string that, written to a fresh terminal, puts
 * it in the state this one is in: `@xterm/addon-serialize` gives the
 * cells, the scrollback, the alternate screen, the cursor and its
 * colours; what it leaves out is added here from the parser's state,
 * because a restore without it breaks the program on the other side
 * (mouse encoding: xterm.js #3417, lich #116; the scroll region; the
 * character sets a dialog draws its box with; the title; a hidden
 * cursor). Some of that state is not in xterm's public API: `internals()`
 * reads it in one place, and the tests check it is where it is read.
 * @module
 */
import type { Terminal as XTerm } from '@xterm/headless';
import type { SerializeAddon as Serializer } from '@xterm/addon-serialize';
import { codedError } from '../errors';
import type { WinSize } from '../tty/console';
import { History, WINDOW, splitLines } from './history';

/** The parser's state that the public API does not show (xterm 6). */
interface Internals {
  coreMouseService: { activeEncoding: string };
  coreService: { isCursorHidden: boolean; decPrivateModes: { cursorStyle?: string; cursorBlink?: boolean } };
  _charsetService: { glevel: number; _charsets: (object | undefined)[] };
  buffer: { scrollTop: number; scrollBottom: number; x: number; y: number };
  buffers: { normal: { savedCurAttrData: Pen } };
}

/** Colours and attributes, as xterm's AttributeData shows them. */
interface Pen {
  isBold(): number;
  isDim(): number;
  isItalic(): number;
  isUnderline(): number;
  isBlink(): number;
  isInverse(): number;
  isInvisible(): number;
  isStrikethrough(): number;
  isFgRGB(): boolean;
  isFgPalette(): boolean;
  getFgColor(): number;
  isBgRGB(): boolean;
  isBgPalette(): boolean;
  getBgColor(): number;
}

/** The SGR sequence that sets a pen from the default one. */
function sgrOf(pen: Pen): string {
  const flags: [number, number][] = [
    [pen.isBold(), 1],
    [pen.isDim(), 2],
    [pen.isItalic(), 3],
    [pen.isUnderline(), 4],
    [pen.isBlink(), 5],
    [pen.isInverse(), 7],
    [pen.isInvisible(), 8],
    [pen.isStrikethrough(), 9],
  ];
  const params = flags.filter(([on]) => on).map(([, p]) => String(p));
  const colour = (rgb: boolean, palette: boolean, value: number, base: number): void => {
    if (rgb) params.push(`${base};2;${(value >> 16) & 255};${(value >> 8) & 255};${value & 255}`);
    else if (palette) params.push(`${base};5;${value}`);
  };
  colour(pen.isFgRGB(), pen.isFgPalette(), pen.getFgColor(), 38);
  colour(pen.isBgRGB(), pen.isBgPalette(), pen.getBgColor(), 48);
  return `\x1b[0${params.map((p) => `;${p}`).join('')}m`;
}

interface Packages {
  Terminal: typeof XTerm;
  SerializeAddon: typeof Serializer;
}

let packages: Packages | null | undefined;

/** The two optional peers, loaded on first use; an error that names the install when either is missing. */
export function screenPackages(): Packages {
  if (packages === undefined) {
    try {
      /* eslint-disable @typescript-eslint/no-require-imports */
      packages = {
        Terminal: (require('@xterm/headless') as Packages).Terminal,
        SerializeAddon: (require('@xterm/addon-serialize') as Packages).SerializeAddon,
      };
      /* eslint-enable @typescript-eslint/no-require-imports */
    } catch {
      packages = null;
    }
  }
  if (packages === null) {
    throw codedError(
      'ERR_SCREEN_UNAVAILABLE',
      'keeping a session screen needs @xterm/headless and @xterm/addon-serialize: npm install @xterm/headless @xterm/addon-serialize',
    );
  }
  return packages;
}

/** The designation characters of the character sets xterm knows (ESC ( <c>), by its charset objects. */
const CHARSET_FINALS = '0ABCEHKQRYZ4567=';
let charsetNames: Promise<Map<object, string>> | undefined;

/** Which designation made which charset object: learnt once from a scratch terminal. */
function charsetTable(): Promise<Map<object, string>> {
  charsetNames ??= new Promise((resolve) => {
    const { Terminal } = screenPackages();
    const probe = new Terminal({ allowProposedApi: true, logLevel: 'off' });
    const table = new Map<object, string>();
    const designations = [...CHARSET_FINALS].map((c) => `\x1b(${c}`);
    const next = (i: number): void => {
      const set = internals(probe)._charsetService._charsets[0];
      if (i > 0 && set !== undefined && !table.has(set)) table.set(set, CHARSET_FINALS[i - 1]);
      if (i === designations.length) {
        probe.dispose();
        resolve(table);
      } else probe.write(designations[i], () => next(i + 1));
    };
    next(0);
  });
  return charsetNames;
}

/** The parser's hidden state, checked to be where xterm 6 keeps it. */
export function internals(term: XTerm): Internals {
  const core = (term as unknown as { _core?: Internals })._core;
  if (core?.coreMouseService === undefined || core._charsetService === undefined || core.buffer === undefined) {
    throw codedError('ERR_SCREEN_UNAVAILABLE', 'this @xterm/headless keeps its parser state elsewhere: a session screen needs version 6');
  }
  return core;
}

const MOUSE_TRACKING: Record<string, number> = { x10: 9, vt200: 1000, drag: 1002, any: 1003 };
const MOUSE_ENCODING: Record<string, number> = { SGR: 1006, SGR_PIXELS: 1016 };
const CURSOR_STYLE: Record<string, number> = { block: 2, underline: 4, bar: 6 };
/** Shifts into G0–G3 (SI, SO, LS2, LS3). */
const SHIFT = ['\x0f', '\x0e', '\x1bn', '\x1bo'];
const DESIGNATE = '()*+';

/** How addon-serialize starts the alternate screen's part (SerializeAddon.ts). */
const ALTERNATE = '\x1b[?1049h\x1b[H';

/** G0–G3 as designated, and the one shifted in. */
function charsetsOf(sets: (object | undefined)[], glevel: number, names: Map<object, string>): string {
  let out = '';
  sets.forEach((set, g) => {
    const name = set === undefined ? undefined : names.get(set);
    if (name !== undefined && g < DESIGNATE.length) out += `\x1b${DESIGNATE[g]}${name}`;
  });
  return out + (glevel !== 0 ? (SHIFT[glevel] ?? '') : '');
}

/** A title as an OSC may carry it back: no control characters. */
function safeTitle(title: string): string {
  // eslint-disable-next-line no-control-regex
  return title.replace(/[\x00-\x1f\x7f-\x9f]/g, '');
}

export class ScreenMirror {
  private readonly term: XTerm;
  private readonly serializer: Serializer;
  private title = '';
  /** Bytes written to the parser and not yet parsed. */
  private unparsed = 0;
  /** Line feeds written to the parser and not yet parsed (History.collect()'s `ahead`). */
  private feedsAhead = 0;
  private disposed = false;

  /** Past WINDOW lines of scrollback, the older ones are kept as text (history.ts). */
  private readonly history: History | null;

  constructor(
    size: WinSize,
    private readonly scrollback: number,
  ) {
    const { Terminal, SerializeAddon } = screenPackages();
    const window = Math.min(scrollback, WINDOW);
    this.term = new Terminal({ rows: size.rows, cols: size.cols, scrollback: window, allowProposedApi: true, logLevel: 'off' });
    this.serializer = new SerializeAddon();
    this.term.loadAddon(this.serializer);
    internals(this.term);
    this.term.onTitleChange((title) => (this.title = title));
    this.history = scrollback > WINDOW ? new History(this.term, this.serializer, scrollback - (WINDOW >> 1)) : null;
  }

  /** Bytes given to write() that the parser has yet to take: the caller's backpressure. */
  get backlog(): number {
    return this.unparsed;
  }

  get size(): WinSize {
    return { rows: this.term.rows, cols: this.term.cols };
  }

  /** Parses the program's output; `parsed` is called once this chunk is. */
  write(chunk: Uint8Array, parsed?: () => void): void {
    if (this.disposed) return;
    this.unparsed += chunk.length;
    const history = this.history;
    if (history === null) {
      this.term.write(chunk, () => {
        this.unparsed -= chunk.length;
        parsed?.();
      });
      return;
    }
    // Half a window of rows at most between two collections, so none leaves the parser
    // uncollected: a quarter in line feeds and a quarter in what can wrap.
    const pieces = splitLines(chunk, WINDOW >> 2, (WINDOW >> 2) * this.term.cols);
    for (const { feeds } of pieces) this.feedsAhead += feeds;
    pieces.forEach(({ piece, feeds }, i) =>
      this.term.write(piece, () => {
        this.unparsed -= piece.length;
        this.feedsAhead -= feeds;
        history.collect(this.feedsAhead);
        if (i === pieces.length - 1) parsed?.();
      }),
    );
  }

  /** Resizes after what was written before it is parsed, as the program's pty was. */
  resize(size: WinSize): void {
    this.term.write('', () => this.term.resize(size.cols, size.rows));
  }

  /**
   * The screen as bytes for a fresh terminal of the same size, once what
   * was written before the call is parsed, and nothing written after it:
   * the caller's sequence number at the call is the snapshot's. The size
   * is the screen's then (a resize is ordered with the output).
   */
  async snapshot(): Promise<{ screen: string; size: WinSize }> {
    const names = charsetTable();
    const taken = await new Promise<{ text: string; size: WinSize; sets: (object | undefined)[]; glevel: number }>((resolve) =>
      this.term.write('', () => {
        // Disposed while it waited (its session ended): there is no screen to give.
        if (this.disposed) return resolve({ text: '', size: this.size, sets: [], glevel: 0 });
        const { _charsets, glevel } = internals(this.term)._charsetService;
        resolve({ text: this.serialize(), size: this.size, sets: [..._charsets], glevel });
      }),
    );
    return { screen: taken.text + charsetsOf(taken.sets, taken.glevel, await names), size: taken.size };
  }

  dispose(): void {
    this.disposed = true;
    this.term.dispose();
  }

  private serialize(): string {
    // The parser's scrollback from its first line not in the history, after the history's newest lines.
    const kept = this.history === null ? undefined : Math.max(0, this.term.buffer.normal.baseY - this.history.firstKept);
    const older = this.history === null || kept === undefined ? '' : this.history.text(this.scrollback - kept);
    let cells = older + this.serializer.serialize({ excludeModes: true, scrollback: kept });
    // Leaving the alternate screen restores the pen saved on entering it
    // (DECSC): the addon writes the pen of the cells before it instead.
    const enter = cells.indexOf(ALTERNATE);
    if (enter >= 0) cells = cells.slice(0, enter) + sgrOf(internals(this.term).buffers.normal.savedCurAttrData) + cells.slice(enter);
    return cells + this.modes() + this.region() + (this.title ? `\x1b]2;${safeTitle(this.title)}\x07` : '');
  }

  /** Every mode addon-serialize writes, and those it leaves out (mouse encoding, cursor). */
  private modes(): string {
    const m = this.term.modes;
    const core = internals(this.term);
    const set = (on: boolean, seq: string): string => (on ? seq : '');
    let out =
      set(m.applicationCursorKeysMode, '\x1b[?1h') +
      set(m.applicationKeypadMode, '\x1b=') +
      set(m.bracketedPasteMode, '\x1b[?2004h') +
      set(m.insertMode, '\x1b[4h') +
      set(m.reverseWraparoundMode, '\x1b[?45h') +
      set(m.sendFocusMode, '\x1b[?1004h') +
      set(!m.wraparoundMode, '\x1b[?7l') +
      set(core.coreService.isCursorHidden, '\x1b[?25l');
    if (m.mouseTrackingMode !== 'none') out += `\x1b[?${MOUSE_TRACKING[m.mouseTrackingMode]}h`;
    const encoding = MOUSE_ENCODING[core.coreMouseService.activeEncoding];
    if (encoding !== undefined) out += `\x1b[?${encoding}h`;
    const { cursorStyle, cursorBlink } = core.coreService.decPrivateModes;
    if (cursorStyle !== undefined) out += `\x1b[${CURSOR_STYLE[cursorStyle] - (cursorBlink ? 1 : 0)} q`;
    return out;
  }

  /**
   * The scroll region, and the origin mode that counts rows from its top.
   * Both move the cursor home (DECSTBM, DECOM: vt100 manual), so the
   * cursor is put back after them, in the rows origin mode counts.
   */
  private region(): string {
    const buffer = internals(this.term).buffer;
    const origin = this.term.modes.originMode;
    const full = buffer.scrollTop === 0 && buffer.scrollBottom === this.term.rows - 1;
    if (full && !origin) return '';
    const top = origin ? buffer.scrollTop : 0;
    const col = Math.min(buffer.x, this.term.cols - 1);
    return (
      (full ? '' : `\x1b[${buffer.scrollTop + 1};${buffer.scrollBottom + 1}r`) +
      (origin ? '\x1b[?6h' : '') +
      `\x1b[${buffer.y - top + 1};${col + 1}H`
    );
  }
}
