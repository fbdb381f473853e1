// One run of W9 (the harness on 25 MB) for one peer, in a process of its own:
//   node harness-peer.mjs <peer> W9 '{"lines": N}'
// The program prints `seq 1 N` and then END-MARK (about 25 MB for N =
// 3,500,000, pexpect#438's size); the peers wait for END-MARK:
//   - "harness expect": Harness.spawn() with no screen, expect('END-MARK');
//   - "harness waitFor": the same with the screen, waitFor('END-MARK');
//   - "xterm alone": the same program through spawn(), each chunk it reads
//     written to @xterm/headless, until the output has ended and the
//     parser has the last of it: the limit of the screen, without the
//     harness's transcript, recording and checks.
// Prints one JSON line: bytes, seconds, and the RSS's peak above the start.
//
// Or one run of W10 (a shell command, prompt to prompt):
//   node harness-peer.mjs <peer> W10 '{"trips": N}'
//   - "harness run()": Harness.shell('bash'), then run('true') N times;
//   - "harness expect (marked prompt)": the same shell, N times `true` and
//     Enter, each followed by expect() of the prompt's end mark: the
//     hand-written wait run() replaces, on a shell doing the same work;
//   - "harness expect (plain prompt)": bash with a known PS1 and no rc
//     file, the same loop on its prompt: a shell without the marks, whose
//     cost (two more writes per command) this row shows.
// Prints one JSON line: trips, seconds.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const root = new URL('../../', import.meta.url).pathname;
const [peer, workload, json] = process.argv.slice(2);
const { lines, trips } = JSON.parse(json ?? '{}');
const MARK = 'END-MARK';

/** How many bytes the pty delivers: seq's lines and the mark, each ending in CRLF (ONLCR). */
function expectedBytes() {
  let n = MARK.length + 2;
  for (let digits = 1, first = 1; first <= lines; digits++, first *= 10) n += (Math.min(lines, first * 10 - 1) - first + 1) * (digits + 2);
  return n;
}

function rssSampler() {
  const start = process.memoryUsage.rss();
  let peak = start;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 10);
  return () => {
    clearInterval(timer);
    return Math.max(peak, process.memoryUsage.rss()) - start;
  };
}

/** W10: N commands, each from the prompt to the next. */
async function shellRoundTrips() {
  const { Harness } = require(`${root}dist/harness/index.js`);
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kqc-w10-'));
  const env = { PATH: process.env.PATH, HOME: home };
  let h;
  try {
    let prompt;
    let command;
    if (peer === 'harness expect (plain prompt)') {
      prompt = 'PROMPT> ';
      h = Harness.spawn('bash', { args: ['--norc', '--noprofile', '-i'], env: { ...env, PS1: prompt }, timeout: 60_000 });
      await h.expect(prompt);
      command = async () => {
        await h.send('true\r');
        await h.expect(prompt);
      };
    } else {
      h = Harness.shell('bash', { env, timeout: 60_000 });
      await h.waitForPrompt();
      if (peer === 'harness run()') {
        command = async () => {
          if ((await h.run('true')).exitCode !== 0) throw new Error('true failed');
        };
      } else {
        prompt = '\x1b]133;B\x07';
        await h.expect(prompt); // The first prompt's, seen by waitForPrompt() but not by expect().
        command = async () => {
          await h.send('true\r');
          await h.expect(prompt);
        };
      }
    }
    const t0 = performance.now();
    for (let i = 0; i < trips; i++) await command();
    return { trips, seconds: (performance.now() - t0) / 1000 };
  } finally {
    h?.close();
    fs.rmSync(home, { recursive: true, force: true });
  }
}

const bytes = expectedBytes();
let result;
if (workload === 'W10') {
  result = await shellRoundTrips();
} else if (peer === 'xterm alone') {
  const { Terminal } = require(`${root}node_modules/@xterm/headless`);
  const { spawn } = require(`${root}dist/index.js`);
  const term = new Terminal({ rows: 24, cols: 80, scrollback: 0, allowProposedApi: true });
  const stop = rssSampler();
  const t0 = performance.now();
  const child = spawn('sh', ['-c', `seq 1 ${lines}; echo ${MARK}`]);
  child.console.on('data', (chunk) => term.write(chunk));
  await new Promise((resolve) => child.console.on('end', resolve));
  await new Promise((resolve) => term.write('', resolve));
  const seconds = (performance.now() - t0) / 1000;
  const shown = term.buffer.active.getLine(term.buffer.active.cursorY - 1)?.translateToString(true);
  if (shown !== MARK) throw new Error(`the screen's last line is ${JSON.stringify(shown)}`);
  result = { bytes, seconds, peakRss: stop() };
} else {
  const { Harness } = require(`${root}dist/harness/index.js`);
  const screen = peer === 'harness waitFor';
  const stop = rssSampler();
  const t0 = performance.now();
  const h = Harness.spawn('sh', { args: ['-c', `seq 1 ${lines}; echo ${MARK}`], screen, timeout: 600_000 });
  if (screen) await h.waitFor(MARK);
  else await h.expect(MARK);
  const seconds = (performance.now() - t0) / 1000;
  if ((await h.exit()) !== 0) throw new Error('the program failed');
  result = { bytes, seconds, peakRss: stop() };
  h.close();
}
console.log(JSON.stringify(result));
