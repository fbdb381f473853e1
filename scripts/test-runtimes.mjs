#!/usr/bin/env node
// The library under Bun and Deno, which load Node-API addons but have no
// libuv (their Kqueuers wake in 'tsfn' mode). Run after `npm run prepare`
// and the addon's build:
//
//   node scripts/test-runtimes.mjs [--bun <path>] [--deno <path>]
//
// (or KQC_BUN / KQC_DENO; else `bun` and `deno` on the PATH). .ci/run
// installs both from the npm registry into its cache.
//
// Neither runs tap (Bun lacks node:v8's Serializer, which tap loads; Deno
// runs .ts files as ES modules). The test files import `tap`, so each
// runtime maps that import to test/runtime/tap-subset.ts, which prints TAP:
//   - Bun runs the test files below as they are;
//   - Deno runs test/runtime/runtimes.test.ts only: the other files write
//     to ptys with fs.writeSync(fd), and Deno's fs takes its own resource
//     ids, not fds; and src/ is CommonJS (__dirname) where Deno's .ts is ESM.
// What each leaves out, and why, is in the README's platform table.
//
// Ends with `# runtimes: N passed, N failed, N skipped`; exits 1 when a test
// failed, a file did not report, or a runtime that was asked for is missing.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const subset = path.join(root, 'test', 'runtime', 'tap-subset.ts');

// Everything but: bench-smoke (it times Node peers), node-pty (node-pty is
// a Node addon of its own, unsupported under Bun: oven-sh/bun#25822),
// web-terminal and attacks (the example servers, run by Node), and the
// reliability suite, which counts the whole process's threads and fds (Bun
// starts threads and opens fds of its own while it runs) and uses
// --expose-gc.
const BUN_FILES = [
  'addon-loader',
  'console',
  'end-of-file',
  'examples',
  'hangup',
  'harness',
  'harness-screen',
  'kqueuer',
  'misuse',
  'native-io',
  'native-kevent',
  'native-kqueue',
  'onread',
  'session-socket',
  'read-policy',
  'session',
  'shutdown',
  'spawn',
  'state-machine',
  'stream-backpressure',
  'stream-data',
  'types',
  'wakeup',
  'runtime/runtimes',
].map((f) => `test/${f}.test.ts`);
const DENO_FILES = ['test/runtime/runtimes.test.ts'];

function option(name, env) {
  const i = process.argv.indexOf(`--${name}`);
  if (i > 0) return { path: process.argv[i + 1], asked: true };
  if (process.env[env]) return { path: process.env[env], asked: true };
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8', timeout: 10_000 }).stdout.trim();
  return { path: found || null, asked: false };
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kqc-runtimes-'));
// Bun: tsconfig paths; Deno: an import map.
const tsconfig = path.join(work, 'tsconfig.json');
fs.writeFileSync(tsconfig, JSON.stringify({ compilerOptions: { baseUrl: root, paths: { tap: [subset] } } }));
const importMap = path.join(work, 'import-map.json');
fs.writeFileSync(importMap, JSON.stringify({ imports: { tap: subset } }));

const RUNTIMES = [
  { name: 'bun', env: 'KQC_BUN', files: BUN_FILES, args: (file) => ['--tsconfig-override', tsconfig, file] },
  {
    name: 'deno',
    env: 'KQC_DENO',
    files: DENO_FILES,
    args: (file) => ['run', '--allow-all', '--sloppy-imports', '--import-map', importMap, file],
  },
];

const total = { passed: 0, failed: 0, skipped: 0 };
let missing = 0;
for (const runtime of RUNTIMES) {
  const bin = option(runtime.name, runtime.env);
  if (bin.path === null || !fs.existsSync(bin.path)) {
    console.log(`${bin.asked ? 'not ok' : 'ok'} - ${runtime.name}: not found${bin.asked ? ` at ${bin.path}` : ' (# SKIP not installed)'}`);
    if (bin.asked) missing++;
    continue;
  }
  const version = spawnSync(bin.path, ['--version'], { encoding: 'utf8', timeout: 60_000 }).stdout.trim().split('\n')[0];
  console.log(`# ${runtime.name}: ${version}`);
  for (const file of runtime.files) {
    const started = Date.now();
    const run = spawnSync(bin.path, runtime.args(file), {
      cwd: root,
      encoding: 'utf8',
      timeout: 600_000,
      // The native tests pick their wake-up from here (test/helpers/native-events.ts).
      env: { ...process.env, KQUEUE_CONSOLE_WAKEUP: 'tsfn', NO_COLOR: '1' },
    });
    const out = `${run.stdout}${run.stderr}`;
    const summary = /^# (\d+) passed, (\d+) failed, (\d+) skipped$/m.exec(run.stdout);
    const counts = summary ? { passed: +summary[1], failed: +summary[2], skipped: +summary[3] } : { passed: 0, failed: 1, skipped: 0 };
    for (const k of Object.keys(total)) total[k] += counts[k];
    const ok = summary !== null && counts.failed === 0 && run.status === 0;
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    console.log(
      `${ok ? 'ok' : 'not ok'} - ${runtime.name} ${file}: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped (${secs} s)`,
    );
    if (!ok) {
      const failures = out.split('\n').filter((l, i, all) => /^not ok/.test(l) || (i > 0 && /^not ok/.test(all[i - 1])));
      const detail = summary ? failures.join('\n') : out.slice(-3000);
      console.log(`${detail}\nexit status ${run.status}${run.signal ? `, signal ${run.signal}` : ''}`.replace(/^/gm, '  # '));
    }
  }
}
fs.rmSync(work, { recursive: true, force: true });
console.log(`# runtimes: ${total.passed} passed, ${total.failed + missing} failed, ${total.skipped} skipped`);
process.exit(total.failed + missing === 0 ? 0 : 1);
