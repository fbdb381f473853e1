// #34's acceptance in Chromium: a page reloaded in the middle of vim's
// insert mode shows the same vim, text and cursor, still inserting; htop's
// alternate screen and mouse tracking come back after a reload; a flood
// across a reload reaches the page with every byte counted once. The
// server is the web terminal example (a thin use of kqueue-console/server)
// as its own process, its sessions lingering.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import t, { type Test } from 'tap';
import { scaled } from './helpers/scale';
import { NO_BROWSER, launchChromium, startServer } from './helpers/web-server';

const skip = NO_BROWSER;

/** What the page exposes (web/app.js), as the callbacks run in it see it. */
interface PageTerm {
  rows: number;
  cols: number;
  modes: { mouseTrackingMode: string; applicationCursorKeysMode: boolean };
  buffer: {
    active: {
      type: string;
      length: number;
      viewportY: number;
      cursorX: number;
      cursorY: number;
      getLine(i: number): { translateToString(trim: boolean): string };
    };
  };
}
interface PageGlobals {
  webTerminal: {
    term: PageTerm;
    stats: { session: string | null; seq: number; snapshots: number; sinceSnapshot: number; parsed: number; received: number };
  };
}

/** The page's terminal as a test compares it: the rows on screen, the cursor, the buffer and modes. */
async function state(
  page: Page,
): Promise<{ lines: string[]; cursor: [number, number]; buffer: string; mouse: string; appCursor: boolean }> {
  return page.evaluate(() => {
    const { term } = (globalThis as unknown as PageGlobals).webTerminal;
    const b = term.buffer.active;
    const lines: string[] = [];
    for (let i = 0; i < term.rows; i++) lines.push(b.getLine(b.viewportY + i).translateToString(true));
    return {
      lines,
      cursor: [b.cursorX, b.cursorY] as [number, number],
      buffer: b.type,
      mouse: term.modes.mouseTrackingMode,
      appCursor: term.modes.applicationCursorKeysMode,
    };
  });
}

async function until<T>(page: Page, what: string, read: () => Promise<T>, check: (v: T) => boolean, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (check(v)) return v;
    if (Date.now() > end) throw new Error(`${what} did not happen in ${ms} ms; last seen: ${JSON.stringify(v).slice(0, 2000)}`);
    await page.waitForTimeout(25);
  }
}

/** A page in a fresh Chromium (closed by the teardown), and the errors the page throws. */
async function browserFor(t: Test): Promise<{ page: Page; errors: string[] }> {
  const browser = await launchChromium((fn) => t.teardown(fn));
  const page = await browser.newPage({ viewport: { width: 1000, height: 600 } });
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  return { page, errors };
}

const started = (out: string): number => (out.match(/^session \S+ started/gm) ?? []).length;

t.test('vim: a reload in the middle of insert mode shows the same vim, text and cursor, still inserting', { skip }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kqc-vim-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const server = await startServer(
    (fn) => t.teardown(fn),
    ['vim', '-u', 'NONE', '-i', 'NONE', '-N', path.join(dir, 'notes.txt')],
    ['--linger', '60'],
  );
  const { page, errors } = await browserFor(t);
  await page.goto(server.url);
  await until(
    page,
    'vim to draw its screen',
    () => state(page),
    (s) => s.buffer === 'alternate' && s.lines.some((l) => l.includes('notes.txt')),
  );
  await page.keyboard.press('i');
  await until(
    page,
    'insert mode',
    () => state(page),
    (s) => s.lines.some((l) => l.includes('-- INSERT --')),
  );
  await page.keyboard.type('first line\nsecond li');
  const before = await until(
    page,
    'the typed text',
    () => state(page),
    (s) => s.lines[1] === 'second li' && !s.lines.some((l) => l.includes('notes.txt')),
  );
  await page.reload();
  const after = await until(
    page,
    'the restored screen',
    () => state(page),
    (s) => s.lines[1] === 'second li' && s.lines.some((l) => l.includes('-- INSERT --')),
  );
  t.same(after.lines, before.lines, 'the same screen, row by row');
  t.same(after.cursor, before.cursor, 'the same cursor');
  t.equal(after.buffer, 'alternate', 'on the alternate screen');
  t.equal(started(server.out()), 1, 'the same vim: no second session was started');
  await page.keyboard.type('ne\n');
  const typed = await until(
    page,
    'more typing to land as text',
    () => state(page),
    // 'second line' shows the keys were text; the Enter is drawn after it.
    (s) => s.lines[1] === 'second line' && s.cursor[1] !== 1,
  );
  t.same(typed.cursor, [0, 2], 'still in insert mode: the keys were text, the cursor on the next line');
  t.ok(
    typed.lines.some((l) => l.includes('-- INSERT --')),
    'vim still shows -- INSERT --',
  );
  t.same(errors, [], 'no page error');
});

t.test('htop: the alternate screen and mouse tracking come back after a reload', { skip }, async (t) => {
  const server = await startServer((fn) => t.teardown(fn), ['htop'], ['--linger', '60']);
  const { page, errors } = await browserFor(t);
  await page.goto(server.url);
  const htop = (s: { lines: string[] }): boolean =>
    s.lines.some((l) => /Load average/.test(l)) && s.lines.some((l) => /F10\s*Quit/.test(l));
  const before = await until(page, 'htop to draw', () => state(page), htop);
  t.equal(before.buffer, 'alternate');
  t.not(before.mouse, 'none', `htop turned mouse tracking on (${before.mouse})`);
  await page.reload();
  const after = await until(page, 'htop after the reload', () => state(page), htop);
  t.equal(after.buffer, 'alternate', 'the alternate screen');
  t.equal(after.mouse, before.mouse, 'the same mouse tracking');
  t.equal(started(server.out()), 1, 'the same htop');
  t.same(errors, [], 'no page error');
});

t.test('a flood across a reload: every byte after the snapshot counted once', { skip }, async (t) => {
  const total = scaled(50_000_000) & ~1;
  const server = await startServer(
    (fn) => t.teardown(fn),
    // "y\n" after stty says echo is off: an Enter typed before would echo into the count.
    ['sh', '-c', `stty -echo -opost; printf 'y\\n'; read go; yes | head -c ${total}; read done`],
    ['--linger', '60'],
  );
  const { page, errors } = await browserFor(t);
  await page.goto(server.url);
  const stats = (): Promise<PageGlobals['webTerminal']['stats']> =>
    page.evaluate(() => ({ ...(globalThis as unknown as PageGlobals).webTerminal.stats }));
  await until(page, 'the program to turn echo off', stats, (s) => s.session !== null && s.seq + s.sinceSnapshot >= 2);
  await page.keyboard.press('Enter');
  await until(page, 'a megabyte of the flood', stats, (s) => s.received > 1_000_000, 60_000);
  await page.reload();
  const end = await until(
    page,
    'the flood to end on the reloaded page',
    stats,
    (s) => s.snapshots === 1 && s.seq + s.sinceSnapshot >= total + 2,
    180_000,
  );
  t.equal(end.seq + end.sinceSnapshot, total + 2, `the snapshot's number and the bytes after it add up to the program's ${total + 2}`);
  t.ok(end.seq > 1_000_000, 'the snapshot came in the middle of the flood');
  await page.keyboard.press('Enter');
  t.equal(started(server.out()), 1, 'one session');
  t.same(errors, [], 'no page error');
});
