// The harness at its edges, as a new user meets them: every wait bounded,
// exit() too; a failure that prints briefly; a prompt's trailing space on the
// screen; evidence from any failure of a bound test; the terminal it emulates.
import { spawn as spawnProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as util from 'node:util';
import t, { type Test } from 'tap';
import { ExpectError, Harness } from '../src/harness';
import { within } from './helpers/fixtures';

const harnessIndex = JSON.stringify(path.join(__dirname, '..', 'dist', 'harness', 'index.js'));

t.test('exit() is bounded by the timeout, and fails as a wait does', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kqc-exit-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const h = Harness.spawn('sh', { args: ['-c', 'echo still-running; exec sleep 30'], test: t, record: { dir, name: 'exit' } });
  await h.expect('still-running');
  const started = Date.now();
  const err = (await h.exit({ timeout: 300 }).catch((e: unknown) => e)) as ExpectError;
  const took = Date.now() - started;
  t.ok(err instanceof ExpectError, 'exit() rejects with an ExpectError');
  t.equal(err.code, 'ERR_EXPECT_TIMEOUT');
  t.match(err.message, /^exit\(\): the program had not exited in 300 ms/, 'saying what did not happen');
  t.match(err.message, /still-running\\r\\n/, 'with the escaped output');
  t.match(err.message, /\|still-running +\|/, 'and the screen');
  t.ok(err.castFile !== null && fs.existsSync(err.castFile), 'the recording was written');
  t.match(err.stack ?? '', /harness-frictions\.test\.ts:\d+/, "its stack starts at the test's line");
  t.ok(took < 10_000, `it failed after ${took} ms, not after the program's 30 s`);

  const bounded = Harness.spawn('sleep', { args: ['30'], timeout: 200, test: t });
  await t.rejects(bounded.exit(), { code: 'ERR_EXPECT_TIMEOUT' }, "without its own timeout: the harness's");
  const ended = Harness.spawn('sh', { args: ['-c', 'exit 3'], test: t });
  t.equal(await ended.exit(), 3, 'a program that exits: its code, as before');
});

t.test('a failure printed by util.inspect stays short; its cells are there to read', async (t) => {
  const h = Harness.spawn('sh', { args: ['-c', 'seq 1 3000; exec sleep 30'], timeout: 300, test: t });
  const err = (await h.expect('bye').catch((e: unknown) => e)) as ExpectError;
  const printed = util.inspect(err);
  t.ok(printed.split('\n').length < 100, `util.inspect: ${printed.split('\n').length} lines`);
  t.match(printed, /ERR_EXPECT_TIMEOUT/, 'with the code');
  t.match(printed, /harness-frictions\.test\.ts:\d+/, "and the test's line");
  t.notOk(Object.keys(err).includes('screen') || Object.keys(err).includes('transcript'), 'screen and transcript are not enumerated');
  t.equal(err.screen?.cell(0, 0).char !== undefined, true, 'the cells are there');
  t.match(err.transcript, /\b3000\b/, 'and the whole transcript');
});

t.test("waitFor() matches a prompt's trailing space: blanks are cells", async (t) => {
  const h = Harness.spawn('sh', { args: ['-i'], env: { PATH: process.env.PATH, PS1: 'P> ' }, test: t, timeout: 5000 });
  await h.waitFor('P> ');
  t.pass("waitFor('P> ') found the prompt");
  t.equal(h.screen().lines[0], 'P>', 'while the rows as they read have no trailing blank');
});

t.test("the program gets the terminal the screen emulates, whatever the runner's TERM", async (t) => {
  const saved = { TERM: process.env.TERM, LANG: process.env.LANG, LC_ALL: process.env.LC_ALL, LC_CTYPE: process.env.LC_CTYPE };
  t.teardown(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
  process.env.TERM = 'dumb';
  for (const k of ['LANG', 'LC_ALL', 'LC_CTYPE']) delete process.env[k];
  const h = Harness.spawn('sh', { args: ['-c', 'echo "[$TERM] [$LANG]"'], test: t });
  await h.expect('[xterm-256color] [C.UTF-8]');
  t.pass('under TERM=dumb and no locale: TERM=xterm-256color, LANG=C.UTF-8');
  const own = Harness.spawn('sh', {
    args: ['-c', 'echo "[$TERM] [$LANG]"'],
    env: { PATH: process.env.PATH, TERM: 'vt100', LANG: 'C' },
    test: t,
  });
  await own.expect('[vt100] [C]');
  t.pass("a test's own env is kept");
});

/** Runs `source` as a test file under `args` (node --test, or node for tap); its output and exit code. */
async function runFile(
  t: Test,
  name: string,
  source: string,
  args: readonly string[],
): Promise<{ out: string; code: number; dir: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kqc-evidence-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, name);
  fs.writeFileSync(file, source.replaceAll('DIR', JSON.stringify(dir)));
  const child = spawnProcess(process.execPath, [...args, file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (out += s));
  const [code] = await within(`${name}: close`, child, 'close', 120_000);
  return { out, code: code as number, dir };
}

const FAILING = (test: string, how: string): string => `
  const { Harness } = require(${harnessIndex});
  ${test}, async (t) => {
    const h = Harness.spawn('sh', { args: ['-c', 'echo shown-on-screen; exec sleep 30'], test: t, record: { dir: DIR, name: 'evidence' } });
    await h.waitFor('shown-on-screen');
    ${how}
  });
`;

t.test(
  'any failure of a bound test leaves its evidence: the recording, and the screen in the report',
  { skip: process.versions.bun !== undefined && "node --test is Node's own" },
  async (t) => {
    for (const [runner, head, args] of [
      ['node:test', "const { test } = require('node:test'); test('x'", ['--test', '--test-reporter=spec']],
      ['tap', `const t0 = require(${JSON.stringify(require.resolve('tap'))}).t; t0.test('x'`, []],
    ] as const) {
      for (const [what, how] of [
        ['its own assert', "require('node:assert').equal(h.screen().text, 'something else');"],
        ['a thrown error', "throw new Error('thrown by the test');"],
      ]) {
        const { out, code, dir } = await runFile(t, `evidence.test.js`, `${FAILING(head.replace("'x'", `'${what}'`), how)}`, args);
        t.equal(code, 1, `${runner}, ${what}: the test failed`);
        t.match(out, /the test failed; the screen at its end/, `${runner}, ${what}: the report says so`);
        t.match(out, /\|shown-on-screen +\|/, `${runner}, ${what}: and shows the screen`);
        t.ok(fs.existsSync(path.join(dir, 'evidence.cast')), `${runner}, ${what}: the recording was written`);
      }
    }
    const timedOut = await runFile(
      t,
      'timeout.test.js',
      FAILING(
        "const { test } = require('node:test'); test('times out', { timeout: 500 }",
        'await new Promise((r) => setTimeout(r, 5000));',
      ),
      ['--test', '--test-reporter=spec'],
    );
    t.match(timedOut.out, /\|shown-on-screen +\|/, "node:test, the runner's timeout: the screen in the report");
    t.ok(fs.existsSync(path.join(timedOut.dir, 'evidence.cast')), "node:test, the runner's timeout: the recording was written");
  },
);
