// The web terminal example in a real browser: Debian's chromium driven by
// playwright-core (which downloads nothing: it is pointed at the system's
// executable). The server runs as its own process, as `npm run web` runs it,
// so that its memory is measured apart from the test's.
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import t from 'tap';
import WebSocket from 'ws';
import { SYS_WRITE, blockedSyscall, memoryFiguresUnreliable } from './helpers/pty';
import { deadline, waitUntil, within } from './helpers/fixtures';
import { NO_BROWSER, PROMPT, childrenOf, launchChromium, ptyMastersOf, rssOf, startServer } from './helpers/web-server';

const root = path.join(__dirname, '..');
const artifacts = path.join(root, 'test-artifacts');

/** What the page (web/app.js) exposes, as the callbacks run in it see it. */
interface PageGlobals {
  document: { title: string; getElementById(id: string): { textContent: string } };
  webTerminal: {
    term: {
      rows: number;
      cols: number;
      buffer: {
        active: { length: number; baseY: number; cursorY: number; getLine(i: number): { translateToString(trim: boolean): string } };
      };
    };
    stats: { received: number; parsed: number; acked: number };
  };
}

const sessionsStarted = (out: string): number => (out.match(/^session \S+ started/gm) ?? []).length;

/** The terminal's text as xterm.js holds it: every line of the active buffer. */
async function screen(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const b = (globalThis as unknown as PageGlobals).webTerminal.term.buffer.active;
    const lines: string[] = [];
    for (let i = 0; i < b.length; i++) lines.push(b.getLine(i).translateToString(true));
    return lines;
  });
}

/** Waits until the screen's text passes `check`; fails with `what` and the screen. */
async function screenShows(page: Page, what: string, check: (text: string) => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const lines = await screen(page);
    if (check(lines.join('\n'))) return;
    if (Date.now() > until)
      throw new Error(`the page did not show ${what} in ${ms} ms; the screen ends with:\n${lines.filter(Boolean).slice(-8).join('\n')}`);
    await page.waitForTimeout(25);
  }
}

/** The text of the line the cursor is on. */
async function cursorLine(page: Page): Promise<string> {
  return page.evaluate(() => {
    const b = (globalThis as unknown as PageGlobals).webTerminal.term.buffer.active;
    return b
      .getLine(b.baseY + b.cursorY)
      .translateToString(true)
      .trimEnd();
  });
}

async function stats(page: Page): Promise<{ received: number; parsed: number; acked: number }> {
  return page.evaluate(() => ({ ...(globalThis as unknown as PageGlobals).webTerminal.stats }));
}

/** A WebSocket client that is not the page: how many bytes of output reach it, and how it ends. */
async function probe(
  port: number,
  origin: string | undefined,
  first: unknown,
): Promise<{ bytes: number; code: number | null; refused: number | null }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, origin === undefined ? {} : { origin });
  let bytes = 0;
  ws.on('message', (data: Buffer) => (bytes += data.length));
  ws.on('error', () => {});
  ws.on('open', () => ws.send(JSON.stringify(first)));
  const ended = new Promise<{ code: number | null; refused: number | null }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the server neither answered nor closed in 10 s')), 10_000);
    ws.on('close', (code: number) => {
      clearTimeout(timer);
      resolve({ code, refused: null });
    });
    // The upgrade was answered with an HTTP status instead of 101.
    ws.on('unexpected-response', (req, res) => {
      clearTimeout(timer);
      res.resume();
      req.destroy();
      resolve({ code: null, refused: res.statusCode ?? null });
    });
  });
  const { code, refused } = await ended;
  return { bytes, code, refused };
}

t.test(
  'a shell in the browser: input, resize, a flood with flow control, Ctrl-C, exit; strangers get nothing',
  { skip: NO_BROWSER },
  async (t) => {
    const server = await startServer((fn) => t.teardown(fn));
    const serverPid = server.proc.pid!;

    // Strangers first: none of them may start a shell or see a byte.
    const before = sessionsStarted(server.out());
    const origin = `http://127.0.0.1:${server.port}`;
    const wrong = await probe(server.port, origin, { type: 'auth', token: server.token.replace(/.$/, (c) => (c === '0' ? '1' : '0')) });
    t.same([wrong.bytes, wrong.code], [0, 1008], 'a wrong token: 0 bytes, closed with 1008');
    const missing = await probe(server.port, origin, { type: 'input', data: 'id\n' });
    t.same([missing.bytes, missing.code], [0, 1008], 'no token (input first): 0 bytes, closed with 1008');
    const foreign = await probe(server.port, 'http://evil.example', { type: 'auth', token: server.token });
    t.same([foreign.bytes, foreign.refused], [0, 403], 'a foreign Origin, even with the token: 0 bytes, upgrade refused with 403');
    const noOrigin = await probe(server.port, undefined, { type: 'auth', token: server.token });
    t.same([noOrigin.bytes, noOrigin.refused], [0, 403], 'no Origin at all: refused');
    t.equal(sessionsStarted(server.out()), before, 'and no shell was started for any of them');

    const browser = await launchChromium((fn) => t.teardown(fn));
    const page = await browser.newPage({ viewport: { width: 1000, height: 600 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (msg) => {
      if (msg.type() === 'error' || /discarded/i.test(msg.text())) pageErrors.push(`console: ${msg.text()}`);
    });

    // The page without its token: refused, no shell.
    const tokenless = await browser.newPage();
    await tokenless.goto(`http://127.0.0.1:${server.port}/`);
    await tokenless.waitForFunction(
      () => (globalThis as unknown as PageGlobals).document.getElementById('status').textContent.startsWith('refused'),
      undefined,
      { timeout: 10_000 },
    );
    await tokenless.close();
    t.equal(sessionsStarted(server.out()), before, 'the page opened without the token is refused and starts nothing');

    // A drive-by from a page of another site on this machine (another port):
    // an <img> whose URL's path does not parse (new URL() throws on `//[`).
    const hostile = http.createServer((_req, res) =>
      res
        .writeHead(200, { 'content-type': 'text/html' })
        .end(`<img src="http://127.0.0.1:${server.port}//[" onerror="document.title='error'" onload="document.title='load'">`),
    );
    hostile.listen(0, '127.0.0.1');
    await within('the hostile page server: listening', hostile, 'listening');
    t.teardown(() => hostile.close());
    const driveBy = await browser.newPage();
    await driveBy.goto(`http://127.0.0.1:${(hostile.address() as AddressInfo).port}/`);
    await driveBy.waitForFunction(() => (globalThis as unknown as PageGlobals).document.title !== '', undefined, { timeout: 10_000 });
    await driveBy.close();
    t.equal(server.proc.exitCode, null, "another site's page requesting //[ of the server does not end it");

    await page.goto(server.url);
    await screenShows(page, 'the prompt', (s) => s.includes(PROMPT));
    t.equal(sessionsStarted(server.out()), before + 1, 'with the token: one shell');
    t.equal(ptyMastersOf(serverPid), 1, "the server holds the session's pty");
    t.notOk(page.url().includes(server.token), 'the token is gone from the address bar');

    await page.keyboard.type('echo "sum: $((6 * 7))"');
    await page.keyboard.press('Enter');
    await screenShows(page, 'the answer typed for', (s) => /^sum: 42$/m.test(s));
    t.pass('typed a command, read its answer from xterm.js');

    // Resize: the fit addon sizes the terminal to the viewport, the server resizes the pty.
    const size0 = await page.evaluate(() => [
      (globalThis as unknown as PageGlobals).webTerminal.term.rows,
      (globalThis as unknown as PageGlobals).webTerminal.term.cols,
    ]);
    await page.setViewportSize({ width: 720, height: 420 });
    await page.waitForFunction((c) => (globalThis as unknown as PageGlobals).webTerminal.term.cols !== c, size0[1], { timeout: 10_000 });
    const [rows, cols] = await page.evaluate(() => [
      (globalThis as unknown as PageGlobals).webTerminal.term.rows,
      (globalThis as unknown as PageGlobals).webTerminal.term.cols,
    ]);
    await page.keyboard.type('stty size');
    await page.keyboard.press('Enter');
    await screenShows(page, `stty size saying ${rows} ${cols}`, (s) => new RegExp(`^${rows} ${cols}$`, 'm').test(s));
    t.pass(`resized from ${size0[0]}x${size0[1]} to ${rows}x${cols}: stty size agrees`);
    fs.mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: path.join(artifacts, 'web-terminal.png') });

    // The flood: yes for 5 s with the page attached.
    const shellPid = Number(/session \S+ started: pid (\d+)/.exec(server.out())![1]);
    const rssBefore = rssOf(serverPid);
    await page.keyboard.type('yes');
    await page.keyboard.press('Enter');
    await waitUntil('yes starting', () => childrenOf(shellPid).length > 0);
    t.pass('yes started');
    const yesPid = childrenOf(shellPid)[0];
    let rssMax = rssBefore;
    let blockedSamples = 0;
    let samples = 0;
    // At least 5 s of samples, and until the page has had 1 MiB: a count, so
    // that a loaded machine (or qemu) takes longer instead of failing.
    const floodMs = 5000;
    const started = Date.now();
    const receivedAtStart = (await stats(page)).received;
    const flood = deadline('1 MiB of the flood to reach the page', 60_000);
    let flooded = 0;
    while (Date.now() - started < floodMs || flooded <= 1 << 20) {
      flood.check();
      await page.waitForTimeout(100);
      rssMax = Math.max(rssMax, rssOf(serverPid));
      samples++;
      if (blockedSyscall(yesPid) === SYS_WRITE) blockedSamples++;
      flooded = (await stats(page)).received - receivedAtStart;
    }
    const during = await stats(page);
    const growthMiB = (rssMax - rssBefore) / 1048576;
    t.comment(
      `flood: ${(flooded / 1048576).toFixed(1)} MiB in ${Date.now() - started} ms to the page; server RSS ${(rssBefore / 1048576).toFixed(1)} MiB, +${growthMiB.toFixed(2)} MiB at most; yes blocked in write() in ${blockedSamples} of ${samples} samples; received - acked ${during.received - during.acked} B`,
    );
    t.ok(flooded > 1 << 20, `the page got output (${(flooded / 1048576).toFixed(1)} MiB)`);
    // The server reads on only while under its high-water mark of unacknowledged bytes (256 KiB).
    t.ok(
      during.received - during.acked <= 512 * 1024,
      `what the page holds unacknowledged is bounded (${during.received - during.acked} B)`,
    );
    const unreliable = memoryFiguresUnreliable();
    if (unreliable) t.comment(`RSS not judged: ${unreliable}`);
    // A sanity bound, not the proof of backpressure (the two checks beside it are): the
    // session's screen, its history and their garbage grow the server by 32 to 68 MiB
    // measured, more the faster the page parses, as V8 grows its heap before it collects.
    else t.ok(growthMiB < 96, `the server's RSS stayed bounded: its screen and parser (+${growthMiB.toFixed(2)} MiB)`);
    t.ok(blockedSamples > 0, `yes blocked in write() (${blockedSamples} of ${samples} samples): the pty's reader waited for the page`);

    const ctrlC = Date.now();
    await page.keyboard.press('Control+C');
    const prompt = deadline('the prompt back after Ctrl-C', 30_000);
    while ((await cursorLine(page)) !== PROMPT.trimEnd()) {
      prompt.check();
      await page.waitForTimeout(10);
    }
    t.pass(`Ctrl-C brought the prompt back in ${Date.now() - ctrlC} ms`);
    await page.waitForFunction(
      () => {
        const s = (globalThis as unknown as PageGlobals).webTerminal.stats;
        return s.parsed === s.received && s.acked === s.parsed;
      },
      undefined,
      { timeout: 10_000 },
    );
    const after = await stats(page);
    t.pass(`xterm.js parsed and acknowledged every byte it received (${after.received} B)`);

    await page.screenshot({ path: path.join(artifacts, 'web-terminal-flood.png') });

    // The shell's exit: the page says so; the server shuts the console down and keeps nothing.
    await page.keyboard.type('exit');
    await page.keyboard.press('Enter');
    await page.waitForFunction(
      () => /exited/.test((globalThis as unknown as PageGlobals).document.getElementById('status').textContent),
      undefined,
      { timeout: 10_000 },
    );
    t.pass('the page says the program exited');
    await waitUntil('the server ended the session', () => /^session \S+ ended/m.test(server.out()), { ms: 10_000 });
    t.pass('the server ended the session');
    // What the server says it sent against what the page counted: none lost on the way.
    const sent = Number(/^session \S+: (\d+) bytes of output sent$/m.exec(server.out())?.[1]);
    t.equal((await stats(page)).received, sent, `the page received every byte the server sent (${sent} B)`);
    await waitUntil(
      `the server holds no pty (${ptyMastersOf(serverPid)}) and no child (${childrenOf(serverPid).length})`,
      () => ptyMastersOf(serverPid) === 0 && childrenOf(serverPid).length === 0,
      { ms: 10_000 },
    );
    t.pass(`the server holds no pty (${ptyMastersOf(serverPid)}) and no child (${childrenOf(serverPid).length})`);
    t.same(pageErrors, [], 'no page error');

    await browser.close();
    server.proc.kill('SIGTERM');
    const [code] = await within('server.proc: exit', server.proc, 'exit', 120_000);
    t.equal(code, 0, 'the server exits cleanly on SIGTERM');
  },
);
