#!/usr/bin/env node
// Builds the addon (and the kevent test binary) with AddressSanitizer and
// UndefinedBehaviorSanitizer into build-asan/, then runs the test suite
// against that build. Node itself is not instrumented, so the ASan runtime is
// preloaded into it. Any report aborts the process that made it, which fails
// the test that ran it. Leak detection is off for Node processes: Node does
// not free everything at exit, and those reports would not be ours; the
// kevent test binary turns it back on for itself. Arguments go to tap; CI
// sets KQUEUE_CONSOLE_WAKEUP=thread, so that the waiter thread runs under
// ASan too (poll mode runs in the plain `npm test`). Then the kevent layer's
// test and the waker's (both modes) run once more, built with
// ThreadSanitizer. The waker's test needs the system's libuv (libuv1-dev).
import { execFileSync, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
// A run of the suite that has not ended by then hangs: it fails, inside CI's budget.
const SUITE_TIMEOUT_MS = 50 * 60_000;
const cmakeJs = path.join(root, 'node_modules', '.bin', 'cmake-js');

execFileSync(cmakeJs, ['compile', '--out', 'build-asan', '--CDKQC_SANITIZE=ON', '--CDKQC_WAKER_TEST=ON'], {
  cwd: root,
  stdio: ['ignore', 'inherit', 'inherit'],
  timeout: 15 * 60_000,
});

const runtime = (name) => execFileSync('g++', [`-print-file-name=${name}`], { encoding: 'utf8', timeout: 60_000 }).trim();
const libasan = runtime('libasan.so');
const libubsan = runtime('libubsan.so');
if (!path.isAbsolute(libasan)) {
  console.error(`The ASan runtime was not found (g++ -print-file-name=libasan.so said ${libasan}).`);
  process.exit(1);
}

const env = {
  ...process.env,
  KQUEUE_CONSOLE_ADDON: path.join(root, 'build-asan', 'Release', 'kqueue_console.node'),
  LD_PRELOAD: [libasan, libubsan].filter((p) => path.isAbsolute(p)).join(' '),
  ASAN_OPTIONS: 'detect_leaks=0:abort_on_error=1:halt_on_error=1',
  UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1',
};
// Two files at a time, not package.json's four: each process under ASan
// takes several times the CPU and memory, and the machine has 2 cores.
const run = spawnSync(process.execPath, [path.join(root, 'scripts', 'test.mjs'), '--jobs=2', ...process.argv.slice(2)], {
  cwd: root,
  env,
  stdio: 'inherit',
  timeout: SUITE_TIMEOUT_MS,
});
if (run.status !== 0) process.exit(run.status ?? 1);

// ThreadSanitizer on the threaded native code that can run without Node (an
// uninstrumented Node cannot host a TSan build): the kevent layer's test,
// whose last checks have one thread waiting while another churns the table,
// the waker's, whose waiter thread hands batches to a libuv loop, and the
// orphans' reaper's, handed children from several threads at once.
execFileSync(cmakeJs, ['compile', '--out', 'build-tsan', '--CDKQC_TSAN=ON', '--CDKQC_WAKER_TEST=ON'], {
  cwd: root,
  stdio: ['ignore', 'inherit', 'inherit'],
  timeout: 15 * 60_000,
});
let tsanFailed = false;
for (const name of ['kevent_test', 'waker_test', 'reaper_test']) {
  const tsan = spawnSync(path.join(root, 'build-tsan', name), {
    encoding: 'utf8',
    timeout: 300_000,
    env: { ...process.env, TSAN_OPTIONS: 'halt_on_error=1' },
  });
  const reports = (tsan.stderr.match(/WARNING: ThreadSanitizer/g) ?? []).length;
  const failed = (tsan.stdout.match(/^not ok/gm) ?? []).length;
  console.log(`ThreadSanitizer, ${name}: ${(tsan.stdout.match(/^ok/gm) ?? []).length} checks passed, ${failed} failed, ${reports} reports`);
  if (tsan.status !== 0 || reports > 0 || failed > 0) {
    process.stderr.write(tsan.stdout + tsan.stderr);
    tsanFailed = true;
  }
}
if (tsanFailed) process.exit(1);
