// The instruction measure's smoke run (npm run bench -- --instructions
// --quick): that it runs from a fresh clone and prints the ratios to the C
// loop, never what the counts are. A file of its own, so that its minutes
// under valgrind run beside bench-smoke's wall-clock run, not after it.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { within } from './helpers/fixtures';

// valgrind cannot host a process with ASan's runtime preloaded (npm run test:asan).
const noValgrind = ((): string | false => {
  if ((process.env.LD_PRELOAD ?? '').includes('asan')) return "ASan's runtime is preloaded, and cannot run under valgrind";
  return spawnSync('valgrind', ['--version'], { timeout: 60_000 }).status === 0 ? false : 'valgrind is not installed (.ci/run installs it)';
})();

// W2 alone: four runs of Node under valgrind, minutes on a loaded machine. W1 goes
// through the same measure, and its 64 MiB doubled the length of CI's last step.
t.test('npm run bench -- --instructions --quick --workloads W2', { skip: noValgrind }, async (t) => {
  const root = path.join(__dirname, '..');
  const args = ['--instructions', '--quick', '--workloads', 'W2'];
  const child = spawn(process.execPath, [path.join(root, 'bench', 'run.mjs'), ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  const [code] = await within('child: close', child, 'close', 600_000);
  t.equal(code, 0, `it ran to the end${code === 0 ? '' : `: ${err.slice(-2000)}`}`);
  const json = /raw figures: (\S+)/.exec(out)?.[1];
  t.ok(json && fs.existsSync(path.join(root, json)), 'the raw figures were written');
  if (!json) return;
  t.teardown(() => fs.rmSync(path.join(root, json), { force: true }));
  type Marginal = { ir: number; syscalls: number; top: [string, number][] };
  const { results } = JSON.parse(fs.readFileSync(path.join(root, json), 'utf8')) as { results: Record<string, Record<string, Marginal[]>> };
  const c = results.W2?.['C limit (epoll ET)']?.[0];
  const ours = results.W2?.['kqueue-console']?.[0];
  t.ok(c !== undefined && c.ir > 0 && c.syscalls > 0, `the C loop's instructions per round trip (${c?.ir}), the ratios' reference`);
  t.ok(
    ours !== undefined && ours.ir > c!.ir && ours.syscalls > 0 && ours.top.length === 10,
    `kqueue-console's (${ours?.ir}, ${ours?.syscalls} system calls) and its 10 costliest functions`,
  );
  t.match(out, 'W2: instructions per round trip', 'printed, with the ratio to C');
});
