// Pictures of the screen: Screen.toSVG() drawn by Chromium, and its pixels
// read back where known cells are; toHTML(); and the picture a failure
// leaves beside its recording.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import t, { type Test } from 'tap';
import { ExpectError, Harness, type Screen } from '../src/harness';

const CHROMIUM = process.env.KQC_CHROMIUM ?? '/usr/bin/chromium';
const noBrowser = fs.existsSync(CHROMIUM) ? false : `no browser at ${CHROMIUM} (Debian package chromium; .ci/run installs it)`;
const CELL_W = 9;
const CELL_H = 18;

/** A screen with one thing of each kind on its first row, the cursor at the start of the second. */
async function sample(t: Test): Promise<Screen> {
  const parts = [
    '\\033[31mred\\033[0m ', // cols 0-2: palette 1
    '\\033[1;42mgreen\\033[0m ', // cols 4-8: bold on palette 2
    '\\033[7minv\\033[0m ', // cols 10-12: inverse
    '\\033[38;2;10;200;30mtrue\\033[0m ', // cols 14-17: true colour
    '\\033[48;5;208mpal\\033[0m ', // cols 19-21: palette 208 background
    '\\033[4munder\\033[0m ', // cols 23-27: underline
    '\\033[3mital\\033[0m', // cols 29-32: italic
    '\\n',
  ];
  const h = Harness.spawn('printf', { args: [parts.join('')], test: t });
  await h.exit();
  return h.waitFor('ital');
}

type Pixels = { width: number; data: number[] };

/** The SVG drawn by Chromium into a canvas: its RGBA pixels. */
async function draw(browser: Browser, svg: string): Promise<Pixels> {
  const page = await browser.newPage();
  try {
    // Run in the page, where the DOM is: typed here as the little it uses.
    type Dom = {
      Image: new () => { src: string; width: number; height: number; decode(): Promise<void> };
      document: { createElement(tag: 'canvas'): Canvas };
    };
    type Canvas = {
      width: number;
      height: number;
      getContext(kind: '2d'): {
        drawImage(img: unknown, x: number, y: number): void;
        getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> };
      };
    };
    const url = `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`;
    return await page.evaluate(async (source: string) => {
      const dom = globalThis as unknown as Dom;
      const img = new dom.Image();
      img.src = source;
      await img.decode();
      const canvas = dom.document.createElement('canvas');
      canvas.width = img.width;
      canvas.height = img.height;
      const ctx = canvas.getContext('2d');
      ctx.drawImage(img, 0, 0);
      return { width: img.width, data: Array.from(ctx.getImageData(0, 0, img.width, img.height).data) };
    }, url);
  } finally {
    await page.close();
  }
}

const rgb = (hex: string): number[] => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
function at(p: Pixels, x: number, y: number): number[] {
  const i = (y * p.width + x) * 4;
  return p.data.slice(i, i + 3);
}
const near = (a: number[], b: number[], d = 24): boolean => a.every((v, i) => Math.abs(v - b[i]) <= d);

/** The cell's background, read at its top-left corner, above any glyph. */
const background = (p: Pixels, row: number, col: number): number[] => at(p, col * CELL_W + 1, row * CELL_H + 1);

/** Whether any pixel of cells [from, to) of `row` within rows of pixels [top, bottom) is `hex`. */
function shows(p: Pixels, row: number, from: number, to: number, hex: string, top = 0, bottom = CELL_H): boolean {
  for (let x = from * CELL_W; x < to * CELL_W; x++) {
    for (let y = row * CELL_H + top; y < row * CELL_H + bottom; y++) if (near(at(p, x, y), rgb(hex))) return true;
  }
  return false;
}

t.test('toSVG(): colours, attributes and the cursor, as Chromium draws them', { skip: noBrowser }, async (t) => {
  const screen = await sample(t);
  const { LD_PRELOAD: _preload, ...env } = process.env;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    env: env as Record<string, string>,
    args: ['--no-sandbox', '--disable-gpu'],
  });
  t.teardown(() => browser.close());
  const svg = screen.toSVG();
  const p = await draw(browser, svg);
  t.equal(p.width, screen.cols * CELL_W, `${screen.cols} cells of ${CELL_W} px`);
  t.ok(shows(p, 0, 0, 3, '#cd0000'), 'red: drawn in palette 1');
  t.ok(near(background(p, 0, 5), rgb('#00cd00')), 'green: on palette 2');
  t.ok(shows(p, 0, 4, 9, '#e5e5e5'), 'with its text in the default colour');
  t.match(svg, /font-weight="bold"[^>]*>green</, 'in bold');
  t.ok(near(background(p, 0, 11), rgb('#e5e5e5')) && shows(p, 0, 10, 13, '#000000', 2, 14), 'inverse: the colours swapped');
  t.ok(shows(p, 0, 14, 18, '#0ac81e'), 'true colour: #0ac81e');
  t.ok(near(background(p, 0, 20), rgb('#ff8700')), 'palette 208 as a background: #ff8700');
  const underlined = [23, 24, 25, 26, 27].every((col) => shows(p, 0, col, col + 1, '#e5e5e5', 14, CELL_H));
  t.ok(underlined, 'underline: a line under each cell of it');
  t.match(svg, /font-style="italic"[^>]*>ital</, 'italic');
  t.ok(near(background(p, 0, 40), rgb('#000000')), 'elsewhere the default background');
  t.same(screen.cursor, { row: 1, col: 0, visible: true }, 'the cursor is at the start of row 1');
  t.ok(near(at(p, 0, CELL_H + 9), rgb('#e5e5e5'), 60) && near(at(p, 4, CELL_H + 9), rgb('#000000')), 'and drawn as a box there');
});

t.test('toHTML(): the same runs as styled text', async (t) => {
  const html = (await sample(t)).toHTML();
  t.match(html, /^<!doctype html>/, 'a standalone page');
  for (const part of [
    'color:#cd0000">red<',
    'background:#00cd00;font-weight:bold">green<',
    'color:#000000;background:#e5e5e5">inv<',
    'color:#0ac81e">true<',
    'background:#ff8700">pal<',
    'text-decoration:underline">under<',
    'font-style:italic">ital<',
  ]) {
    t.ok(html.includes(part), `has ${part}`);
  }
  t.match(html, /<span class="cursor">/, 'and the cursor');
});

t.test('a failure leaves the screen as a picture beside its recording', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kqc-picture-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const h = Harness.spawn('sh', {
    args: ['-c', 'printf "\\033[31mshown\\033[0m\\n"; exec sleep 30'],
    test: t,
    record: { dir, name: 'failed' },
  });
  const err = (await h.waitFor('never shown', { timeout: 300 }).catch((e: unknown) => e)) as ExpectError;
  t.ok(err instanceof ExpectError, 'the wait failed');
  const file = path.join(dir, 'failed.svg');
  t.match(err.message, `--- the screen as a picture: ${file}`, 'its message names the picture');
  t.ok(fs.readFileSync(file, 'utf8').startsWith('<svg'), 'an SVG image');
  t.match(fs.readFileSync(file, 'utf8'), /fill="#cd0000"[^>]*>shown</, 'of that screen');
  t.equal(fs.statSync(file).mode & 0o777, 0o600, 'mode 0600, as the recording');
});
