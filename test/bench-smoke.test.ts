// The benchmark's smoke run: small sizes, one repetition, idle only. It
// checks correctness (every peer runs, none fails; kqueue-console loses no
// byte, its checksums match, its hung-up console wakes once and gets the
// bytes after the reopen), never speed: timing belongs to npm run bench.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { within } from './helpers/fixtures';

/** The peers every quick run has here: the C loops, Node's, node-pty and ours, the examples, the harness. */
const PEERS = [
  'C limit (blocking)',
  'C limit (epoll ET)',
  'node-pty',
  'node-tty',
  'kqueue-console',
  'kqueue-console (thread)',
  'kqueue-console (tsfn)',
  'addon alone',
  'node-tty (onread)',
  'kqueue-console (onread)',
  'child_process',
  'web-terminal',
  'kqueue-console serve',
  'harness expect',
  'harness waitFor',
  'xterm alone',
  'harness run()',
  'harness expect (marked prompt)',
  'harness expect (plain prompt)',
  'session',
  'session (long scrollback)',
  'xterm alone (the same screen)',
];

interface Run {
  workload: string;
  peer: string;
  ok?: boolean;
  error?: string;
  skipped?: string;
}

t.test('npm run bench -- --quick', async (t) => {
  const root = path.join(__dirname, '..');
  const child = spawn(process.execPath, [path.join(root, 'bench', 'run.mjs'), '--quick'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr.resume();
  // About 30 s on this machine kind, 60 s under ASan with the machine idle;
  // twice that when the machine is shared.
  const [code] = await within('child: close', child, 'close', 300_000);
  const failed = out.split('\n').filter((l) => /FAILED/.test(l));
  t.equal(code, 0, `the harness ran to the end with no failed run${failed.length ? `:\n${failed.join('\n')}` : ''}`);
  const json = /raw figures: (\S+)/.exec(out)?.[1];
  t.ok(json && fs.existsSync(path.join(root, json)), 'the raw figures were written');
  if (!json) return;
  t.teardown(() => {
    for (const ext of ['.json', '.txt', '.svg']) fs.rmSync(path.join(root, json.replace(/\.json$/, ext)), { force: true });
  });
  const raw = JSON.parse(fs.readFileSync(path.join(root, json), 'utf8')) as { runs: Run[]; skipped: Record<string, string> };
  const ran = new Set(raw.runs.filter((r) => !r.error && !r.skipped).map((r) => r.peer));
  t.same(
    PEERS.filter((p) => !ran.has(p)),
    [],
    'every peer ran (go-epollconsole needs Go, which the bench says when it is missing)',
  );
  t.same(
    raw.runs.filter((r) => r.error).map((r) => `${r.workload} ${r.peer}: ${r.error}`),
    [],
    'no run of any peer failed',
  );
  const ours = raw.runs.filter((r) => r.peer.startsWith('kqueue-console'));
  t.ok(new Set(ours.map((r) => r.workload)).size >= 6, `kqueue-console ran in W1 to W7 (${[...new Set(ours.map((r) => r.workload))]})`);
  t.same(
    ours.filter((r) => r.ok === false).map((r) => `${r.workload} ${r.peer}`),
    [],
    'none of its runs lost a byte or failed its checksum',
  );
  t.match(out, /kqueue-console +bytes after reopen arrived: 1\/1/, 'W6: the bytes after the reopen arrived');
  const examples = out.split('\n').filter((l) => /^ +(web-terminal|kqueue-console serve) /.test(l));
  t.ok(examples.length === 6 && !examples.some((l) => /LOST|FAILED|skipped/.test(l)), 'W8: both example servers took the flood whole');
  const targets = out.slice(out.indexOf('\nTargets'));
  // A count, not a time: one wake-up for the reopen, none while hung up.
  t.match(targets, /^ {4}must met +W6 wake-ups ≤ 10: /m, 'the W6 target on wake-ups while hung up is met');
  t.notMatch(targets, /LOST BYTES/, 'and no target line says kqueue-console lost bytes');
});
