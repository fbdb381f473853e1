// Runs the C++ test of the kqueue(2)/kevent(2) layer (test/native/kevent_test.cc,
// built by cmake-js next to the addon) and mirrors each of its TAP results,
// its skips (libkqueue's deviations, with their reasons) as skips. The
// waker's and the orphans' reaper's tests (test/native/waker_test.cc,
// reaper_test.cc) run too where the build has them (the KQC_WAKER_TEST
// option: the libkqueue and TSan builds).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { addonPath } from '../src/addon/binding';

// The test binary is built in the same cmake build tree as the addon under
// test, so a sanitizer build of the addon comes with a sanitizer build of it.
const buildDir = path.join(path.dirname(addonPath()), '..');

function mirror(t: Test, binary: string): void {
  if (!fs.existsSync(binary)) {
    t.fail(`${binary} is missing: build the addon first (npm run build)`);
    t.end();
    return;
  }
  // Under the sanitizer build this binary is instrumented itself, so leak
  // detection (off for Node processes) is turned on for it.
  const env = { ...process.env, ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=1' };
  const run = spawnSync(binary, { encoding: 'utf8', timeout: 60_000, env });
  const results = run.stdout.split('\n').filter((l) => /^(ok|not ok) /.test(l));
  const plan = /^1\.\.(\d+)$/m.exec(run.stdout);
  t.ok(plan, 'the binary printed its plan');
  t.equal(results.length, plan ? Number(plan[1]) : -1, 'every planned check ran');
  for (const line of results) {
    const [, name, skip] = /^(?:not ok|ok) \d+ - (.*?)(?: # SKIP (.*))?$/.exec(line) ?? [];
    t.ok(line.startsWith('ok '), name ?? line, skip ? { skip } : {});
  }
  t.equal(run.status, 0, `exit status 0 (stderr: ${run.stderr.trim() || 'none'})`);
  t.end();
}

t.test('kevent layer', (t) => mirror(t, path.join(buildDir, 'kevent_test')));

const wakerTest = path.join(buildDir, 'waker_test');
if (fs.existsSync(wakerTest)) t.test('waker', (t) => mirror(t, wakerTest));

const reaperTest = path.join(buildDir, 'reaper_test');
if (fs.existsSync(reaperTest)) t.test("orphans' reaper", (t) => mirror(t, reaperTest));
