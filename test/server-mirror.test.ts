// A session's screen restored from its snapshot: for each terminal mode
// #34 lists, a terminal that saw the whole stream and a fresh one fed the
// snapshot are compared, state by state, and then both are given the same
// further output, which must land the same way in each.
import t, { type Test } from 'tap';
import type { Terminal as XTerm } from '@xterm/headless';
import { ScreenMirror, internals, screenPackages } from '../src/server/mirror';

const SIZE = { rows: 12, cols: 40 };

function terminal(scrollback = 1000): { term: XTerm; title: () => string } {
  const { Terminal } = screenPackages();
  const term = new Terminal({ ...SIZE, scrollback, allowProposedApi: true, logLevel: 'off' });
  let title = '';
  term.onTitleChange((s) => (title = s));
  return { term, title: () => title };
}

function written(term: XTerm, data: string | Uint8Array): Promise<void> {
  return new Promise((resolve) => term.write(data, resolve));
}

/** Every line of a buffer, as text, with each cell's colours and attributes. */
function cellsOf(term: XTerm, which: 'normal' | 'alternate'): string[] {
  const buffer = term.buffer[which];
  const out: string[] = [];
  for (let y = 0; y < buffer.length; y++) {
    const line = buffer.getLine(y)!;
    let row = line.translateToString(true);
    for (let x = 0; x < term.cols; x++) {
      const cell = line.getCell(x)!;
      if (!cell.isAttributeDefault())
        row += ` ${x}:${cell.getFgColorMode()}/${cell.getFgColor()}/${cell.getBgColorMode()}/${cell.getBgColor()}/${cell.isBold()}${cell.isItalic()}${cell.isUnderline()}${cell.isInverse()}`;
    }
    out.push(row);
  }
  while (out.length > 0 && out[out.length - 1] === '') out.pop();
  return out;
}

/** What a program on the other side relies on, read from the parser. */
function stateOf(term: XTerm, title: string): Record<string, unknown> {
  const core = internals(term);
  const attr = (term as unknown as { _core: { _inputHandler: { _curAttrData: { fg: number; bg: number } } } })._core._inputHandler
    ._curAttrData;
  const active = term.buffer.active;
  return {
    modes: term.modes,
    mouseEncoding: core.coreMouseService.activeEncoding,
    cursorHidden: core.coreService.isCursorHidden,
    cursorStyle: core.coreService.decPrivateModes.cursorStyle,
    cursorBlink: core.coreService.decPrivateModes.cursorBlink,
    glevel: core._charsetService.glevel,
    charsets: core._charsetService._charsets.map((set) => set),
    buffer: active.type,
    cursor: [active.cursorX, active.baseY + active.cursorY],
    region: [core.buffer.scrollTop, core.buffer.scrollBottom],
    attr: [attr.fg, attr.bg],
    title,
    normal: cellsOf(term, 'normal'),
    alternate: cellsOf(term, 'alternate'),
  };
}

const lines = (n: number): string => Array.from({ length: n }, (_, i) => `line ${i}\r\n`).join('');

/** Each mode #34 names, set by the stream a program would write; `then` is more output, after the restore. */
const CASES: Case[] = [
  { name: 'alternate screen', stream: 'shell text\r\n\x1b[?1049h\x1b[Hfull screen\x1b[5;3Hhere', then: 'x\x1b[?1049lback' },
  { name: 'application cursor keys', stream: '\x1b[?1h', then: 'a' },
  { name: 'application keypad', stream: '\x1b=', then: 'a' },
  ...['9', '1000', '1002', '1003'].map((m) => ({ name: `mouse tracking ?${m}`, stream: `\x1b[?${m}h`, then: 'a' })),
  { name: 'mouse encoding SGR', stream: '\x1b[?1002h\x1b[?1006h', then: 'a' },
  { name: 'mouse encoding SGR pixels', stream: '\x1b[?1000h\x1b[?1016h', then: 'a' },
  { name: 'bracketed paste', stream: '\x1b[?2004h', then: 'a' },
  { name: 'origin mode in a scroll region', stream: '\x1b[3;8r\x1b[?6h\x1b[2;5Hin', then: `${lines(8)}end` },
  { name: 'scroll region', stream: `\x1b[2;6r\x1b[6;1H${lines(3)}`, then: `${lines(4)}more` },
  { name: 'charset: G0 DEC graphics', stream: '\x1b(0lqqk\r\n', then: 'mqqj' },
  { name: 'charset: G1 DEC graphics, shifted in', stream: '\x1b)0\x0elqk\x0f ascii \x0e', then: 'x' },
  { name: 'colours and attributes', stream: 'a\x1b[1;3;4;7;31;44mbold\x1b[0;38;5;200;48;2;1;2;3m', then: 'pen' },
  { name: 'title', stream: '\x1b]2;the title\x07text', then: 'a' },
  { name: 'hidden cursor and its style', stream: '\x1b[?25l\x1b[5 q', then: 'a' },
  { name: 'insert mode', stream: 'abcdef\x1b[1G\x1b[4h', then: 'XY' },
  { name: 'no wraparound', stream: '\x1b[?7l', then: 'x'.repeat(50) },
  { name: 'reverse wraparound and focus events', stream: '\x1b[?45h\x1b[?1004h', then: 'a' },
  { name: 'scrollback', stream: lines(200), then: 'last' },
  {
    name: 'a full-screen editor: all at once',
    stream: `${lines(30)}\x1b[?1049h\x1b[?1h\x1b=\x1b[?2004h\x1b[?1002h\x1b[?1006h\x1b[1;11r\x1b]2;vim\x07\x1b[H~\r\n~\x1b[12;1H-- INSERT --\x1b[1;1H\x1b[32mtyped`,
    then: 'more\x1b[?1049l',
  },
];

interface Case {
  name: string;
  stream: string;
  then: string;
}

/**
 * One restore: a terminal that saw the whole stream, a mirror fed it as
 * `feed` writes it, a fresh terminal fed the mirror's snapshot; the two
 * compared, then given the same further output and compared again.
 */
async function restores(t: Test, c: Case, scrollback: number, feed: (mirror: ScreenMirror, bytes: Buffer) => void): Promise<void> {
  const whole = terminal(scrollback);
  const restored = terminal(scrollback);
  const mirror = new ScreenMirror(SIZE, scrollback);
  t.teardown(() => {
    whole.term.dispose();
    restored.term.dispose();
    mirror.dispose();
  });
  await written(whole.term, c.stream);
  feed(mirror, Buffer.from(c.stream));
  const { screen: snapshot } = await mirror.snapshot();
  t.equal(mirror.backlog, 0, 'the snapshot waited for everything written before it');
  await written(restored.term, snapshot);
  t.same(stateOf(restored.term, restored.title()), stateOf(whole.term, whole.title()), 'the same state as the terminal that saw it all');
  await written(whole.term, c.then);
  await written(restored.term, c.then);
  t.same(stateOf(restored.term, restored.title()), stateOf(whole.term, whole.title()), 'and further output lands the same way');
}

for (const c of CASES) {
  t.test(`restored from a snapshot: ${c.name}`, (t) => restores(t, c, 1000, (mirror, bytes) => mirror.write(bytes)));
}

t.test('a snapshot is of what was written before it, not after', async (t) => {
  const mirror = new ScreenMirror(SIZE, 100);
  t.teardown(() => mirror.dispose());
  mirror.write(Buffer.from('before'));
  const snapshot = mirror.snapshot();
  mirror.write(Buffer.from(' after'));
  const restored = terminal();
  t.teardown(() => restored.term.dispose());
  await written(restored.term, (await snapshot).screen);
  t.same(cellsOf(restored.term, 'normal'), ['before']);
});

/** Coloured lines, every seventh longer than the screen is wide (it wraps). */
const colouredLines = (n: number, from = 0): string =>
  Array.from(
    { length: n },
    (_, i) => `\x1b[3${(i + from) % 8}m${String(i + from).padStart(6, '0')}${(i + from) % 7 === 0 ? '='.repeat(70) : ''}\x1b[0m tail\r\n`,
  ).join('');

/** Past the parser's window the older scrollback is kept as text (history.ts); the restore must not tell. */
const LONG_CASES: Case[] = [
  { name: 'long scrollback, some lines wrapped', stream: colouredLines(3000), then: colouredLines(5, 3000) },
  { name: 'long scrollback, in pieces of many sizes', stream: colouredLines(1234), then: 'x' },
  { name: 'long scrollback, then erased (CSI 3 J)', stream: `${colouredLines(2000)}\x1b[3J${colouredLines(30, 2000)}`, then: 'x' },
  { name: 'long scrollback, then the alternate screen', stream: `${colouredLines(2000)}\x1b[?1049h\x1b[Hfull`, then: '\x1b[?1049lback' },
];

for (const c of LONG_CASES) {
  t.test(`restored from a snapshot: ${c.name}`, (t) =>
    // Written as a program's reads come: chunks of 1 to 4,096 bytes.
    restores(t, c, 600, (mirror, bytes) => {
      for (let at = 0, n = 1; at < bytes.length; at += n, n = (n * 7 + 13) % 4096 || 1) mirror.write(bytes.subarray(at, at + n));
    }),
  );
}

t.test('a snapshot still waiting when its session ends resolves with no screen, and writes after are dropped', async (t) => {
  const mirror = new ScreenMirror(SIZE, 100);
  mirror.write(Buffer.from('before the end'));
  const pending = mirror.snapshot();
  mirror.dispose();
  mirror.write(Buffer.from('after the end'));
  t.equal((await pending).screen, '', 'no screen: the parser is gone');
  t.equal(mirror.backlog, 0, 'and nothing waits to be parsed');
});
