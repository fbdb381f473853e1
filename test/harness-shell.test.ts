// Shell integration: Harness.shell() starts a shell with prompt marks, and
// run() gives each command's exit code, output and working directory, in
// every shell with an integration, Debian's own.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { Harness } from '../src/harness';
import { waitUntil } from './helpers/fixtures';
import { sessionMembers } from './helpers/processes';

const comm = (pid: number): string => {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
};

const SHELLS = ['bash', 'zsh', 'fish', 'dash', 'busybox'] as const;
type ShellName = (typeof SHELLS)[number];

/** A home of the test's own: the user's rc files there are the test's. */
function home(t: Test, files: Record<string, string> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kqc-home-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

function start(t: Test, shell: ShellName, env: NodeJS.ProcessEnv = {}): Harness {
  return Harness.shell(shell, { env: { PATH: process.env.PATH, HOME: home(t), ...env }, test: t, timeout: 10_000 });
}

const installed = (shell: string): boolean => process.env.PATH!.split(':').some((dir) => fs.existsSync(path.join(dir, shell)));

/** A loop over 1 2 3 in this shell's syntax, as three lines. */
const loop = (shell: ShellName): string => (shell === 'fish' ? 'for i in 1 2 3\necho n$i\nend' : 'for i in 1 2 3\ndo echo n$i\ndone');

for (const shell of SHELLS) {
  t.test(
    `${shell}: run() gives each command's exit code, output and cwd`,
    { skip: !installed(shell) && `${shell} is not installed` },
    async (t) => {
      const h = start(t, shell);
      const hello = await h.run('echo hello; echo world');
      t.same(
        [hello.exitCode, hello.output, hello.lines],
        [0, 'hello\nworld\n', ['hello', 'world']],
        'output, without the echo or the prompt',
      );
      t.ok(hello.durationMs >= 0 && hello.durationMs < 10_000, `durationMs ${hello.durationMs}`);
      t.same((await h.run('printf abc')).output, 'abc', 'no final newline: the output ends where it did');
      t.same((await h.run(loop(shell))).output, 'n1\nn2\nn3\n', 'a command of three lines');
      t.equal((await h.run('false')).exitCode, 1, 'a failing command: 1');
      t.equal((await h.run("sh -c 'exit 7'")).exitCode, 7, 'and its own code: 7');
      const cd = await h.run('cd /tmp');
      t.same([cd.exitCode, cd.cwd, h.cwd], [0, '/tmp', '/tmp'], 'cd: the cwd the shell reports');
      t.equal((await h.run('pwd')).output, '/tmp\n', 'and the next command runs there');

      const reading = h.run('read x; echo got:$x');
      await h.waitFor(() => h.commandRunning);
      await h.type('typed\r');
      const read = await reading;
      t.ok(
        read.exitCode === 0 && read.lines.includes('got:typed'),
        `a command that reads input: the test types it (${JSON.stringify(read.lines)})`,
      );

      const sleeping = h.run('sleep 30');
      // ^C before sleep runs would reach the shell, not sleep.
      await waitUntil(`${shell}: sleep 30 running`, () => sessionMembers(h.pid!).some((pid) => comm(pid) === 'sleep'));
      await h.press('C-c');
      const interrupted = await sleeping;
      t.equal(interrupted.exitCode, 130, '^C in the middle: 130');
      t.ok(interrupted.durationMs < 10_000, `and it came back at once (${interrupted.durationMs} ms)`);

      const paging = h.run('less /etc/passwd');
      await h.waitFor((s) => s.alternate && s.text.includes('root'));
      await h.press('q');
      const paged = await paging;
      t.equal(paged.exitCode, 0, 'a full-screen program started by run(): back once its prompt is');
      await h.waitForPrompt();
      t.notOk(h.screen().alternate, 'on the main screen');
      t.notOk(h.commandRunning, 'nothing runs');
    },
  );
}

/** Each shell's own rc file, redefining the prompt as users do. */
const CUSTOM: Record<ShellName, { files: Record<string, string>; env?: NodeJS.ProcessEnv }> = {
  bash: { files: { '.bashrc': "PS1='custom> '\nPROMPT_COMMAND='true'\n" } },
  zsh: { files: { '.zshrc': "PS1='custom> '\nprecmd() { true; }\n" } },
  fish: { files: { '.config/fish/config.fish': "function fish_prompt; echo -n 'custom> '; end\n" } },
  dash: { files: { envrc: "PS1='custom> '\n" }, env: { ENV: 'HOME/envrc' } },
  busybox: { files: { envrc: "PS1='custom> '\n" }, env: { ENV: 'HOME/envrc' } },
};

for (const shell of SHELLS) {
  t.test(
    `${shell}: a prompt the user's rc file redefines keeps its marks`,
    { skip: !installed(shell) && `${shell} is not installed` },
    async (t) => {
      const { files, env } = CUSTOM[shell];
      const dir = home(t, files);
      const h = Harness.shell(shell, {
        env: {
          PATH: process.env.PATH,
          HOME: dir,
          ...Object.fromEntries(Object.entries(env ?? {}).map(([k, v]) => [k, v!.replace('HOME', dir)])),
        },
        test: t,
      });
      await h.waitForPrompt();
      t.match(h.screen().text, /custom>$/, "the user's prompt is shown");
      t.same((await h.run('echo mine')).output, 'mine\n', 'and run() reads the command through it');
    },
  );
}

t.test('a shell whose output has no marks: run() fails at once, with a code that says why', async (t) => {
  const h = Harness.spawn('sh', { args: ['-i'], test: t });
  const started = Date.now();
  await t.rejects(h.run('echo hi'), { code: 'ERR_NO_SHELL_INTEGRATION', message: /no prompt marks/ });
  await t.rejects(h.waitForPrompt(), { code: 'ERR_NO_SHELL_INTEGRATION' });
  t.ok(Date.now() - started < 1000, 'at once, not at a timeout');
  t.throws(() => Harness.shell('python3'), { code: 'ERR_NO_SHELL_INTEGRATION', message: /python3: no shell integration/ });
  t.equal(h.cwd, null, 'no cwd');
  t.notOk(h.commandRunning);
});

t.test('Harness.shell() with no shell named: $SHELL, else sh; its files go with it', async (t) => {
  const saved = process.env.SHELL;
  t.teardown(() => {
    if (saved === undefined) delete process.env.SHELL;
    else process.env.SHELL = saved;
  });
  process.env.SHELL = 'dash';
  const h = Harness.shell(undefined, { env: { PATH: process.env.PATH, HOME: home(t) } });
  t.equal((await h.run('echo $0')).output, 'dash\n', '$SHELL names it');
  const before = fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('kqc-shell-')).length;
  h.close();
  t.equal(
    fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('kqc-shell-')).length,
    before - 1,
    'close() removes its integration files',
  );
});

t.test("run()'s lines are the rows a terminal shows of the output", async (t) => {
  const h = Harness.shell('bash', { env: { PATH: process.env.PATH, HOME: home(t) }, test: t, size: { rows: 24, cols: 20 } });
  const cases: [string, string[]][] = [
    ["printf '\\033[31mred\\033[0m plain\\n'", ['red plain']],
    ["printf 'abcdef\\rXY\\n'", ['XYcdef']],
    ["printf 'a\\tb\\n'", ['a       b']],
    ["printf '%025d\\n' 7", ['00000000000000000000', '00007']],
    ["printf 'one\\ntwo\\033[Aup\\n'", ['oneup', 'two']],
    ["printf '日本語日本語日本語日本\\n'", ['日本語日本語日本語日', '本']],
  ];
  for (const [command, lines] of cases) t.same((await h.run(command)).lines, lines, command);
});
