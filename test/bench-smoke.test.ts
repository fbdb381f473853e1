// The benchmark's smoke run: small sizes, one repetition, idle only. It
// checks correctness (every peer runs; kqueue-console loses no byte, its
// checksums match, its hung-up console wakes and gets the bytes after the
// reopen), never speed: timing belongs to npm run bench.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { within } from './helpers/fixtures';

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
  t.equal(code, 0, `the harness ran to the end with no failed run of ours${failed.length ? `:\n${failed.join('\n')}` : ''}`);
  const rows = out.split('\n').filter((l) => l.trim().startsWith('kqueue-console'));
  t.ok(rows.length >= 12, `kqueue-console reported in every workload (${rows.length} rows)`);
  t.notOk(
    rows.some((l) => /LOST|FAILED|skipped/.test(l)),
    'and none of its rows lost bytes, failed or was skipped',
  );
  t.match(out, /kqueue-console +bytes after reopen arrived: 1\/1/, 'W6: the bytes after the reopen arrived');
  const examples = out.split('\n').filter((l) => /^ +(web-terminal|pipe-to-socket) /.test(l));
  t.ok(examples.length === 6 && !examples.some((l) => /LOST|FAILED|skipped/.test(l)), 'W8: both example servers took the flood whole');
  const targets = out.slice(out.indexOf('\nTargets'));
  t.match(targets, /^ {4}must (met|MISSED) +W6 wake-ups ≤ 10: /m, 'the targets are judged after the table');
  t.notMatch(targets, /LOST BYTES/, 'and no target line says kqueue-console lost bytes');
  const json = /raw figures: (\S+)/.exec(out)?.[1];
  t.ok(json && fs.existsSync(path.join(root, json)), 'the raw figures were written');
  for (const ext of ['.json', '.txt', '.svg']) if (json) fs.rmSync(path.join(root, json.replace(/\.json$/, ext)), { force: true });
});
