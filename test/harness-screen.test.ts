// The harness's screen: real full-screen programs (Debian's vim, less,
// htop, whiptail; python3 and bash), driven with keys as a person presses
// them, asserted on what the screen shows.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Duplex } from 'node:stream';
import t from 'tap';
import { Harness, type HarnessSpawnOptions, type TestContext } from '../src/harness';
import { waitUntil } from './helpers/fixtures';

const ENV = { PATH: process.env.PATH, HOME: os.tmpdir(), TERM: 'xterm-256color', LANG: 'C.UTF-8' };

/** Programs from Debian packages that .ci/run installs; a test says which one is missing. */
function which(program: string): string | false {
  for (const dir of (process.env.PATH ?? '').split(':')) if (fs.existsSync(path.join(dir, program))) return false;
  return `${program} is not installed (.ci/run installs it)`;
}

function run(t: TestContext, file: string, args: string[], options: HarnessSpawnOptions = {}): Harness {
  return Harness.spawn(file, { args, env: ENV, test: t, ...options });
}

t.test('colours and attributes read back from cells; the title; the cursor', async (t) => {
  const h = run(t, 'sh', [
    '-c',
    "printf '\\033]0;my title\\007\\033[31mred\\033[0m \\033[1;4mbu\\033[0m \\033[38;2;1;2;3mrgb\\033[0m \\033[7;3minv\\033[0m\\033[?25l'; sleep 5",
  ]);
  const s = await h.waitFor((s) => s.title === 'my title' && s.lines[0].includes('inv') && !s.cursor.visible);
  t.same(s.cell(0, 0), { char: 'r', fg: 1, bg: null, bold: false, italic: false, underline: false, inverse: false }, 'red: palette 1');
  t.match(s.cell(0, 4), { char: 'b', bold: true, underline: true, fg: null }, 'bold and underlined');
  t.match(s.cell(0, 7), { char: 'r', fg: '#010203' }, 'an RGB foreground');
  t.match(s.cell(0, 11), { char: 'i', inverse: true, italic: true }, 'inverse and italic');
  t.same(
    [s.text, s.cursor.row, s.cursor.col, s.cursor.visible],
    ['red bu rgb inv', 0, 14, false],
    'the text, and the hidden cursor after it',
  );
  t.throws(() => s.cell(24, 0), { code: 'ERR_OUT_OF_RANGE' }, 'a cell off the screen');
});

t.test('press() follows the modes the program set; paste() brackets when asked', async (t) => {
  // Raw mode, then the bytes of each key in hex (od(1), spaces and line breaks taken out).
  const hex = "od -An -tx1 | tr -d ' \\n'";
  const script = `stty raw -echo; printf R; head -c 3 | ${hex}; printf '\\033[?1h\\033[?2004hS'; head -c 18 | ${hex}; printf END; sleep 5`;
  const h = run(t, 'sh', ['-c', script]);
  await h.expect('R');
  await h.press('Up');
  await h.expect('1b5b41');
  t.pass('Up in normal mode: CSI A');
  // The modes are the screen's once it has parsed them.
  await h.waitFor('S');
  await h.press('Up');
  await h.paste('a\nb');
  await h.expect('S1b4f411b5b3230307e610d621b5b3230317eEND');
  t.pass('Up after DECCKM: SS3 A; a paste in bracketed-paste mode, its line break a CR');
});

t.test('vim: insert, :w, the status line on the screen', { skip: which('vim') }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kqc-vim-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'note.txt');
  const h = run(t, 'vim', ['-u', 'NONE', '-i', 'NONE', '-N', file]);
  await h.waitFor((s) => s.alternate && /note\.txt" \[New\]/.test(s.text));
  await h.press('i');
  await h.type('hello from the harness');
  await h.press('Escape');
  await h.type(':w');
  await h.press('Enter');
  const s = await h.waitFor(/note\.txt" \[New\] 1L, 23B written/);
  t.equal(s.lines[0], 'hello from the harness', 'the text on the first row');
  t.match(s.lines[1], /^~/, "vim's empty-line marks below it");
  await h.type(':q');
  await h.press('Enter');
  t.equal(await h.exit(), 0, 'vim quit');
  t.equal(fs.readFileSync(file, 'utf8'), 'hello from the harness\n', 'and wrote the file');
});

t.test("less: a search's match is shown inverse", { skip: which('less') }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kqc-less-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'lines.txt');
  fs.writeFileSync(file, Array.from({ length: 500 }, (_, i) => (i === 150 ? 'here is the needle' : `line ${i}`)).join('\n'));
  const h = run(t, 'less', [file], { env: { ...ENV, LESS: '' } });
  await h.waitFor('line 0');
  await h.type('/needle');
  await h.press('Enter');
  const s = await h.waitFor((s) => s.lines.some((l) => l.includes('here is the needle')));
  const row = s.lines.findIndex((l) => l.includes('needle'));
  const col = s.lines[row].indexOf('needle');
  t.ok(s.cell(row, col).inverse && s.cell(row, col + 5).inverse, 'the match is inverse');
  t.notOk(s.cell(row, 0).inverse, 'the rest of the row is not');
  await h.press('q');
  t.equal(await h.exit(), 0, 'q quits');
});

t.test('htop: its header on the screen, q quits', { skip: which('htop') }, async (t) => {
  const h = run(t, 'htop', [], { size: { rows: 30, cols: 120 } });
  // htop draws its header in more than one write.
  const s = await h.waitFor((s) => /Tasks: \d+/.test(s.text) && /Load average: [\d.]+/.test(s.text));
  t.ok(s.alternate, 'the tasks and the load average, full screen on the alternate screen');
  await h.press('q');
  t.equal(await h.exit(), 0);
});

t.test('whiptail: a menu navigated with the arrow keys, the choice printed after exit', { skip: which('whiptail') }, async (t) => {
  // whiptail writes the choice to stderr: here the pty, after the menu is gone.
  const h = run(t, 'whiptail', ['--menu', 'Pick a fruit', '15', '40', '3', 'a', 'Apple', 'b', 'Banana', 'c', 'Cherry']);
  const before = await h.waitFor('Pick a fruit');
  const row = before.lines.findIndex((l) => l.includes('Apple'));
  t.ok(
    before.cell(row, before.lines[row].indexOf('Apple')).bg !== before.cell(row + 1, before.lines[row + 1].indexOf('Banana')).bg,
    'the first item is highlighted',
  );
  await h.press('Down');
  await h.waitFor((s) => {
    const r = s.lines.findIndex((l) => l.includes('Banana'));
    return s.cell(r, s.lines[r].indexOf('Banana')).bg === before.cell(row, before.lines[row].indexOf('Apple')).bg;
  });
  t.pass('Down moves the highlight to Banana');
  await h.press('Enter');
  await h.expect(/b$|b\r?\n?$/);
  t.equal(await h.exit(), 0, 'whiptail exits 0 with the choice');
  t.match(h.transcript(), /b$/, 'and printed its tag last');
});

t.test('python3 -i and bash job control', async (t) => {
  const py = run(t, 'python3', ['-i', '-q']);
  await py.waitFor('>>>'); // The text has no trailing blanks.
  await py.type('print(6 * 7)');
  await py.press('Enter');
  await py.waitFor(/^42$/m);
  t.pass('python3 printed 42');
  await py.press('C-d');
  t.equal(await py.exit(), 0, 'C-d ends it');

  const sh = run(t, 'bash', ['--norc', '--noprofile', '-i'], { env: { ...ENV, PS1: 'bash$ ' } });
  await sh.waitFor('bash$');
  await sh.type('sleep 30');
  await sh.press('Enter');
  // The job ignores ^Z (as the shell does) until it has exec'd sleep: wait
  // for sleep to lead the terminal's foreground group (tpgid, proc(5)).
  await waitUntil('sleep as the foreground job', () => {
    const stat = fs.readFileSync(`/proc/${sh.pid}/stat`, 'utf8');
    const tpgid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[5]);
    try {
      return tpgid !== sh.pid && fs.readFileSync(`/proc/${tpgid}/comm`, 'utf8').trim() === 'sleep';
    } catch {
      return false;
    }
  });
  await sh.press('C-z');
  await sh.waitFor(/\[1\]\+\s+Stopped\s+sleep 30/);
  t.pass('C-z stops the foreground job');
  await sh.type('bg; jobs');
  await sh.press('Enter');
  await sh.waitFor(/\[1\]\+\s+Running\s+sleep 30 &/);
  t.pass('bg runs it in the background');
  await sh.type('kill %1; wait; exit 0');
  await sh.press('Enter');
  t.equal(await sh.exit(), 0);
});

t.test('waitForStable: resolves once the screen stops changing', async (t) => {
  const h = run(t, 'sh', ['-c', 'for i in 1 2 3 4 5; do echo tick $i; sleep 0.05; done; sleep 30']);
  await h.waitFor('tick 1');
  // Quiet for 20 times the ticks' spacing: a loaded machine (or qemu) may
  // stretch a 50 ms sleep, not by that much.
  const s = await h.waitForStable({ quietMs: 1000 });
  t.match(s.text, /tick 5$/, 'after the last tick');
});

t.test('without a screen: a stable code that names the package', async (t) => {
  const h = run(t, 'true', [], { screen: false });
  t.throws(() => h.screen(), { code: 'ERR_SCREEN_UNAVAILABLE', message: /screen: false/ });
  await t.rejects(h.waitFor('x'), { code: 'ERR_SCREEN_UNAVAILABLE', message: /@xterm\/headless/ });
});

t.test(
  "the screen's text as a snapshot",
  { skip: process.versions.bun !== undefined ? "tap's snapshots are not in Bun's tap stand-in" : false },
  async (t) => {
    const h = run(t, 'sh', ['-c', "printf 'top left\\033[3;5Hmiddle\\033[5;30Hlow right'; sleep 5"]);
    const s = await h.waitFor('low right');
    t.matchSnapshot(s.text, 'the screen, as text');
  },
);

t.test('a screen wait for the last output holds when the output ends before the parser has it', async (t) => {
  // The output and its end reach the harness at once, in many reads, as a
  // pty delivers them; the parser works through them in time slices, each
  // ending in a parsed-write event. The wait must look at the screen once
  // the last is parsed, not fail at the end of the output.
  const stream = new Duplex({ read() {}, write: (_chunk, _encoding, cb) => cb() });
  const h = Harness.attach(stream, undefined, { test: t });
  const waited = h.waitFor('END-MARK');
  const chunk = Buffer.from(`${'x'.repeat(79)}\r\n`.repeat(250));
  for (let i = 0; i < 200; i++) stream.push(chunk);
  stream.push('END-MARK\r\n');
  stream.push(null);
  t.match((await waited).text, /END-MARK$/, 'END-MARK on the screen');
});
