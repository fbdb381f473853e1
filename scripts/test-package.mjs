#!/usr/bin/env node
// The package as a user installs it (CI runs this as root, after
// scripts/prebuild.mjs): `npm pack`, then `npm install <tarball>` into fresh
// projects (from the registry through npm, nothing else may download),
// and a pty round trip through `require` and through `import` in each:
//
//   - with the prebuilt binaries, cmake and the compilers made unavailable
//     (a failing stub bind-mounted over each inside `unshare --mount`): with
//     the install script and with --ignore-scripts; what the install added
//     (packages, bytes) is reported, and held to at most 3 and 1.5 MB;
//   - built from source (npm_config_build_from_source), with the optional
//     peers cmake-js and node-addon-api in the same install: the addon is
//     compiled, and that one loads;
//   - from a tarball without prebuilds: compiled at install with the peers;
//     without them, the install fails naming the one command to run; and
//     with no compiler, it fails saying what to do, as does `require`;
//   - the same round trips under Bun and Deno with the prebuilt binary,
//     when KQC_BUN and KQC_DENO name them (.ci/run does);
//   - the `kqueue-console` command with no compiler, from `npx` after an
//     install of the tarball and its screen's optional peers: serve,
//     attach on a pty, the detach key, list; and without the peers, serve
//     fails naming the install.
//
// Prints TAP; exits 1 when anything failed.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
// One step (an npm install, a runtime's round trip) that has not ended by then hangs.
const STEP_TIMEOUT_MS = 10 * 60_000;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kqc-package-'));
let n = 0;
let failed = 0;

function ok(cond, what, detail = '') {
  n++;
  if (!cond) failed++;
  console.log(`${cond ? 'ok' : 'not ok'} ${n} - ${what}`);
  if (!cond && detail) console.log(detail.replace(/^/gm, '  # '));
}

// The real files behind the build tools, which the stub hides.
const TOOLS = ['cmake', 'make', 'ninja', 'cc', 'c++', 'gcc', 'g++', 'clang', 'clang++'];
function toolFiles() {
  const files = new Set();
  for (const tool of TOOLS) {
    const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8', timeout: 10_000 }).stdout.trim();
    if (found) files.add(fs.realpathSync(found));
  }
  return [...files];
}

/** Runs a shell command in `cwd`; with `noCompiler`, inside a mount namespace where the build tools fail. */
function sh(cwd, command, { noCompiler = false, env = {} } = {}) {
  let script = command;
  if (noCompiler) {
    const stub = path.join(work, 'no-compiler');
    fs.writeFileSync(stub, '#!/bin/sh\necho "$0: not available in this test" >&2\nexit 127\n', { mode: 0o755 });
    const mounts = toolFiles()
      .map((f) => `mount --bind ${stub} ${f}`)
      .join(' && ');
    script = `${mounts} && { cmake --version >/dev/null 2>&1 && echo "cmake still runs" >&2 && exit 99; true; } && ${command}`;
    return spawnSync('unshare', ['--mount', 'sh', '-c', script], {
      cwd,
      encoding: 'utf8',
      env: { ...process.env, ...env },
      timeout: STEP_TIMEOUT_MS,
    });
  }
  return spawnSync('sh', ['-c', script], { cwd, encoding: 'utf8', env: { ...process.env, ...env }, timeout: STEP_TIMEOUT_MS });
}

function project(name) {
  const dir = path.join(work, name);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `kqc-${name}`, version: '1.0.0', private: true }));
  for (const f of ['roundtrip.cjs', 'roundtrip.mjs', 'roundtrip-body.cjs', 'sessions.cjs'])
    fs.copyFileSync(path.join(root, 'test', 'package', f), path.join(dir, f));
  return dir;
}

// What a user adds to build from source, at the ranges the package declares.
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const BUILD_PEERS = ['cmake-js', 'node-addon-api'].map((name) => `${name}@'${pkg.peerDependencies[name]}'`).join(' ');

function install(dir, tarball, flags, options, extra = '') {
  return sh(dir, `npm install --prefer-offline --no-audit --no-fund --foreground-scripts ${flags} ${tarball} ${extra}`, options);
}

/** The packages under node_modules (scoped ones counted once each) and their bytes. */
function installed(dir) {
  const ls = sh(dir, 'npm ls --all --parseable');
  const packages = ls.stdout.split('\n').filter((p) => p.includes(`${path.sep}node_modules${path.sep}`)).length;
  const bytes = Number(sh(dir, 'du -sb --apparent-size node_modules').stdout.split(/\s/)[0]);
  return { packages, bytes };
}
const MAX_PACKAGES = 3;
const MAX_BYTES = 1_500_000;

/** Both round trips; `expect` matches the path of the addon they must have loaded. */
function roundTrips(dir, label, expect, options) {
  for (const file of ['roundtrip.cjs', 'roundtrip.mjs']) {
    const run = sh(dir, `node ${file}`, options);
    const out = run.stdout.trim();
    ok(run.status === 0 && expect.test(out), `${label}: ${file} round trip loads ${expect}`, `${out}\n${run.stderr}`);
  }
}

// Packs the repository as it is (prebuilds/ included), and a copy without.
const packed = JSON.parse(
  execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: root, encoding: 'utf8', timeout: STEP_TIMEOUT_MS }),
)[0];
const withPrebuilds = path.join(work, packed.filename);
const files = packed.files.map((f) => f.path);
ok(
  files.some((f) => /^prebuilds\/linux-x64\/.*\.node$/.test(f)) && files.some((f) => /^prebuilds\/linux-arm64\/.*\.node$/.test(f)),
  'the tarball holds the linux-x64 and linux-arm64 prebuilds',
  files.join('\n'),
);
ok(!files.some((f) => /^(build|src|test|node_modules)\//.test(f)), 'and no build/, src/, test/ or node_modules/', files.join('\n'));
// The examples need the repository's devDependencies (ws, xterm.js): a user's
// project could not run them.
ok(!files.some((f) => /^dist\/examples\//.test(f)), 'and no examples (they need dev dependencies)', files.join('\n'));
const unpacked = path.join(work, 'unpacked');
fs.mkdirSync(unpacked);
execFileSync('tar', ['xzf', withPrebuilds, '-C', unpacked], { timeout: STEP_TIMEOUT_MS });

// The README as npm shows it, from the tarball: a relative link or image
// must name a file the tarball holds (the package names no repository that
// npm could resolve it against), and an anchor a heading of the README.
{
  const readme = fs.readFileSync(path.join(unpacked, 'package', 'README.md'), 'utf8').replace(/```[\s\S]*?```/g, '');
  // GitHub's heading ids, which npm's page uses too: lower case, spaces to
  // dashes, punctuation other than - and _ dropped.
  const anchors = new Set(
    [...readme.matchAll(/^#+ (.*)$/gm)].map((m) =>
      m[1]
        .toLowerCase()
        .replace(/[^\p{L}\p{N} _-]/gu, '')
        .replace(/ /g, '-'),
    ),
  );
  const links = [...readme.matchAll(/!?\[[^\]]*\]\(([^)\s]+)[^)]*\)/g)].map((m) => m[1]);
  const broken = links.filter((link) => {
    if (/^https:\/\//.test(link)) return false;
    if (link.startsWith('#')) return !anchors.has(link.slice(1));
    return !files.includes(link.split('#')[0]);
  });
  ok(
    links.length > 0 && broken.length === 0,
    `every one of the README's ${links.length} links resolves from the tarball`,
    broken.join('\n'),
  );
}
fs.rmSync(path.join(unpacked, 'package', 'prebuilds'), { recursive: true });
const withoutPrebuilds = path.join(work, 'no-prebuilds.tgz');
execFileSync('tar', ['czf', withoutPrebuilds, '-C', unpacked, 'package'], { timeout: STEP_TIMEOUT_MS });

const prebuilt = /node_modules\/kqueue-console\/prebuilds\/linux-x64\/kqueue-console\.napi8\.uv1\.glibc\.node$/;
const compiled = /node_modules\/kqueue-console\/build\/Release\/kqueue_console\.node$/;

{
  const dir = project('prebuilt');
  const r = install(dir, withPrebuilds, '', { noCompiler: true });
  ok(r.status === 0, 'no compiler: npm install <tarball> succeeds', r.stdout + r.stderr);
  ok(/using the prebuilt binary/.test(r.stdout + r.stderr), 'its install script found the prebuilt binary and compiled nothing', r.stdout);
  ok(!fs.existsSync(path.join(dir, 'node_modules', 'kqueue-console', 'build')), 'no build/ was made');
  const added = installed(dir);
  console.log(`# install: ${added.packages} package(s), ${added.bytes} bytes (${(added.bytes / 1e6).toFixed(2)} MB) in node_modules`);
  ok(
    added.packages <= MAX_PACKAGES && added.bytes <= MAX_BYTES,
    `the install adds at most ${MAX_PACKAGES} packages and ${MAX_BYTES / 1e6} MB`,
    sh(dir, 'npm ls --all').stdout,
  );
  roundTrips(dir, 'no compiler', prebuilt, { noCompiler: true });
  // Runtimes without libuv: their Kqueuers wake through a thread-safe function.
  for (const [name, env, args] of [
    ['bun', 'KQC_BUN', []],
    ['deno', 'KQC_DENO', ['run', '--allow-all']],
  ]) {
    const bin = process.env[env];
    if (!bin) continue;
    for (const file of ['roundtrip.cjs', 'roundtrip.mjs']) {
      const run = spawnSync(bin, [...args, file], {
        cwd: dir,
        encoding: 'utf8',
        env: { ...process.env, NO_COLOR: '1' },
        timeout: STEP_TIMEOUT_MS,
      });
      const out = run.stdout.trim();
      ok(run.status === 0 && prebuilt.test(out), `${name}: ${file} round trip loads ${prebuilt}`, `${out}\n${run.stderr}`);
    }
  }
  const ls = sh(dir, 'npm ls --all --parseable');
  const downloaders = ls.stdout
    .split('\n')
    .filter((p) => /node_modules\/(prebuild-install|node-pre-gyp|@mapbox\/node-pre-gyp|node-gyp)$/.test(p));
  ok(ls.status === 0 && downloaders.length === 0, 'npm ls: nothing that downloads binaries at install time', downloaders.join('\n'));
}
{
  const dir = project('command');
  const bare = install(dir, withPrebuilds, '', { noCompiler: true });
  ok(bare.status === 0, 'the command: npm install <tarball> succeeds with no compiler', bare.stdout + bare.stderr);
  const missing = sh(dir, `npx --no-install kqueue-console serve --unix ${path.join(dir, 'x.sock')} -- true`, { noCompiler: true });
  ok(
    missing.status === 1 && /npm install @xterm\/headless @xterm\/addon-serialize/.test(missing.stderr),
    'the command without its screen peers: serve fails naming the install',
    missing.stdout + missing.stderr,
  );
  const peers = ['@xterm/headless', '@xterm/addon-serialize'].map((name) => `${name}@'${pkg.peerDependencies[name]}'`).join(' ');
  const r = install(dir, withPrebuilds, '', { noCompiler: true }, peers);
  ok(r.status === 0, 'the command: the tarball and its screen peers install', r.stdout + r.stderr);
  const run = sh(dir, 'node sessions.cjs', { noCompiler: true });
  ok(run.status === 0 && /sessions ok/.test(run.stdout), 'npx kqueue-console serve, attach, the detach key, list', run.stdout + run.stderr);
}
{
  const dir = project('ignore-scripts');
  const r = install(dir, withPrebuilds, '--ignore-scripts', { noCompiler: true });
  ok(r.status === 0, 'no compiler: npm install --ignore-scripts <tarball> succeeds', r.stdout + r.stderr);
  roundTrips(dir, '--ignore-scripts', prebuilt, { noCompiler: true });
}
{
  const dir = project('from-source');
  // What `npm install --build-from-source` sets (npm 11 warns about the flag).
  const r = install(dir, withPrebuilds, '', { env: { npm_config_build_from_source: 'true' } }, BUILD_PEERS);
  ok(
    r.status === 0 && /compiling the addon \(asked to build from source\)/.test(r.stdout),
    'build-from-source compiles',
    r.stdout + r.stderr,
  );
  roundTrips(dir, 'build-from-source', compiled);
}
{
  const dir = project('fallback');
  const r = install(dir, withoutPrebuilds, '', {}, BUILD_PEERS);
  ok(
    r.status === 0 && /compiling the addon/.test(r.stdout),
    'a tarball without prebuilds compiles at install, with cmake-js and node-addon-api beside it',
    r.stdout + r.stderr,
  );
  roundTrips(dir, 'no prebuilds', compiled);
}
{
  const dir = project('no-peers');
  const r = install(dir, withoutPrebuilds, '');
  ok(
    r.status !== 0 && /npm install kqueue-console cmake-js node-addon-api/.test(r.stderr),
    'without them, the install fails naming the one command that builds it',
    r.stdout + r.stderr,
  );
}
{
  const dir = project('nothing');
  const r = install(dir, withoutPrebuilds, '', { noCompiler: true }, BUILD_PEERS);
  ok(
    r.status !== 0 && /npm rebuild kqueue-console/.test(r.stderr),
    'no prebuild and no compiler: the install fails, saying what to do',
    r.stdout + r.stderr,
  );
  const s = install(dir, withoutPrebuilds, '--ignore-scripts', { noCompiler: true });
  const run = sh(dir, 'node roundtrip.cjs');
  ok(
    s.status === 0 &&
      run.status !== 0 &&
      /ERR_ADDON_NOT_LOADED|could not be loaded/.test(run.stderr) &&
      /npm rebuild kqueue-console/.test(run.stderr),
    'and with --ignore-scripts, require() says the same',
    run.stderr,
  );
}

console.log(`1..${n}`);
console.log(`# package: ${n - failed} passed, ${failed} failed`);
if (failed === 0) fs.rmSync(work, { recursive: true, force: true });
else console.log(`# kept ${work}`);
process.exit(failed === 0 ? 0 : 1);
