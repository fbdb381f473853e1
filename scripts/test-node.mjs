#!/usr/bin/env node
// Runs test files under another Node, with the package's prebuilt binary for
// that Node's architecture (scripts/prebuild.mjs makes them), and ends with
// scripts/test.mjs's `N passed, N failed` line.
//
//   node scripts/test-node.mjs <node binary> [--qemu <sysroot>] -- <test files>...
//
// --qemu runs an arm64 node under qemu-aarch64-static with that sysroot
// (Debian: /usr/aarch64-linux-gnu). Without binfmt_misc the kernel cannot
// exec an arm64 binary, so process.execPath, which tap and the tests spawn,
// is pointed at a wrapper that runs it under qemu.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const args = process.argv.slice(2);
const dash = args.indexOf('--');
const files = dash >= 0 ? args.slice(dash + 1) : [];
const opts = dash >= 0 ? args.slice(0, dash) : args;
const node = path.resolve(opts[0] ?? '');
const qemuAt = opts.indexOf('--qemu');
const sysroot = qemuAt >= 0 ? opts[qemuAt + 1] : undefined;
if (!opts[0] || !fs.existsSync(node) || files.length === 0) {
  console.error('usage: node scripts/test-node.mjs <node binary> [--qemu <sysroot>] -- <test files>...');
  process.exit(2);
}

const env = { ...process.env };
let runner = node;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kqc-node-'));
if (sysroot) {
  runner = path.join(tmp, 'node');
  // Under qemu-user 7.2, V8's optimizing tier for WebAssembly (Node's own
  // cjs-module-lexer and undici are wasm) crashes the process with SIGSEGV;
  // its baseline tier works. A V8 flag, so not allowed in NODE_OPTIONS.
  fs.writeFileSync(runner, `#!/bin/sh\nexec qemu-aarch64-static ${JSON.stringify(node)} --no-wasm-tier-up "$@"\n`, { mode: 0o755 });
  const preload = path.join(tmp, 'exec-path.cjs');
  fs.writeFileSync(preload, `process.execPath = ${JSON.stringify(runner)};\n`);
  env.QEMU_LD_PREFIX = sysroot;
  env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ''} --require ${preload}`.trim();
}

const about = JSON.parse(
  execFileSync(
    runner,
    ['-p', 'JSON.stringify({ version: process.version, arch: process.arch, uv: process.versions.uv, napi: process.versions.napi })'],
    {
      env,
      encoding: 'utf8',
      // Under qemu a Node takes seconds to start.
      timeout: 120_000,
    },
  ),
);
const dir = path.join(root, 'prebuilds', `linux-${about.arch}`);
const prebuilt = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.node')) : [];
if (prebuilt.length !== 1) {
  console.error(`expected one prebuilt binary in ${dir}, found ${prebuilt.length}: run npm run prebuild first`);
  process.exit(2);
}
env.KQUEUE_CONSOLE_ADDON = path.join(dir, prebuilt[0]);
console.log(
  `# Node ${about.version} ${about.arch} (libuv ${about.uv}, Node-API ${about.napi}) with ${path.relative(root, env.KQUEUE_CONSOLE_ADDON)}`,
);

// A run that has not ended in 30 minutes hangs (qemu's runs take about 5).
const run = spawnSync(runner, [path.join(root, 'scripts', 'test.mjs'), ...files], {
  cwd: root,
  env,
  stdio: 'inherit',
  timeout: 30 * 60_000,
});
fs.rmSync(tmp, { recursive: true, force: true });
process.exit(run.status ?? 1);
