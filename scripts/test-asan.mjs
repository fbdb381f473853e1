#!/usr/bin/env node
// Builds the addon (and the kevent test binary) with AddressSanitizer and
// UndefinedBehaviorSanitizer into build-asan/, then runs the test suite
// against that build. Node itself is not instrumented, so the ASan runtime is
// preloaded into it. Any report aborts the process that made it, which fails
// the test that ran it. Leak detection is off for Node processes: Node does
// not free everything at exit, and those reports would not be ours; the
// kevent test binary turns it back on for itself. Arguments go to tap.
import { execFileSync, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const cmakeJs = path.join(root, 'node_modules', '.bin', 'cmake-js');

execFileSync(cmakeJs, ['compile', '--out', 'build-asan', '--CDKQC_SANITIZE=ON'], {
  cwd: root,
  stdio: ['ignore', 'inherit', 'inherit'],
});

const runtime = (name) => execFileSync('g++', [`-print-file-name=${name}`], { encoding: 'utf8' }).trim();
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
const run = spawnSync(process.execPath, [path.join(root, 'scripts', 'test.mjs'), ...process.argv.slice(2)], {
  cwd: root,
  env,
  stdio: 'inherit',
});
process.exit(run.status ?? 1);
