#!/usr/bin/env node
// Compiles the native sources for the platforms CI cannot run:
//
//  - macOS, aarch64 and x86_64, with zig's C++ toolchain (it ships macOS's
//    libc headers, <sys/event.h> among them): every source of the addon and
//    kevent_test, warnings as errors, and the Mach-O addon linked with
//    `-undefined dynamic_lookup` (Node provides the napi_ and uv_ symbols
//    when it loads the addon). Needs ZIG=<path to zig> or zig on PATH.
//  - NetBSD 9's `intptr_t` kevent.udata: the sources that touch udata,
//    syntax only, against test/native/netbsd9/sys/event.h.
//
// Prints TAP; exits 1 when anything failed.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const require = createRequire(import.meta.url);
const zig = process.env.ZIG || 'zig';
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'kqc-platforms-'));
let n = 0;
let failed = 0;

function check(what, command, args) {
  const run = spawnSync(command, args, { cwd: root, encoding: 'utf8', timeout: 300_000 });
  n++;
  const good = run.status === 0 && !run.stderr.includes('warning');
  if (!good) failed++;
  console.log(`${good ? 'ok' : 'not ok'} ${n} - ${what}`);
  if (!good) console.log(`${run.error?.message ?? ''}${run.stdout}${run.stderr}`.replace(/^/gm, '  # '));
  return good;
}

const nodeInclude = path.resolve(process.execPath, '..', '..', 'include', 'node');
const includes = [
  `-I${path.dirname(require.resolve('node-api-headers/package.json'))}/include`,
  `-I${require('node-addon-api').include_dir.replace(/"/g, '')}`,
  `-I${nodeInclude}`,
];
// The flags of CMakeLists.txt's addon target.
const flags = [
  '-std=c++17',
  '-fPIC',
  '-fvisibility=hidden',
  '-Wall',
  '-Wextra',
  '-Wno-unused-parameter',
  '-Werror',
  '-DNAPI_VERSION=8',
  '-DNODE_ADDON_API_DISABLE_CPP_EXCEPTIONS',
  '-DNODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS',
];
// Every source of the addon's two tiers (portable.cc is glibc's alone).
const addonSources = ['addon', 'core'].flatMap((dir) =>
  fs
    .readdirSync(path.join(root, 'native', dir))
    .filter((f) => f.endsWith('.cc') && f !== 'portable.cc')
    .sort()
    .map((f) => path.join('native', dir, f)),
);

for (const target of ['aarch64-macos', 'x86_64-macos']) {
  const objects = [];
  let compiled = true;
  for (const source of addonSources) {
    const object = path.join(out, `${target}-${path.basename(source, '.cc')}.o`);
    objects.push(object);
    compiled &&= check(`${target}: ${source} compiles`, zig, ['c++', '-target', target, ...flags, ...includes, '-c', source, '-o', object]);
  }
  if (compiled) {
    const addon = path.join(out, `${target}.node`);
    if (
      check(`${target}: the addon links`, zig, [
        'c++',
        '-target',
        target,
        '-shared',
        '-undefined',
        'dynamic_lookup',
        '-o',
        addon,
        ...objects,
      ])
    ) {
      const magic = fs.readFileSync(addon).readUInt32LE(0);
      n++;
      const macho = magic === 0xfeedfacf;
      if (!macho) failed++;
      console.log(`${macho ? 'ok' : 'not ok'} ${n} - ${target}: it is a 64-bit Mach-O file`);
    }
  }
  check(`${target}: test/native/kevent_test.cc compiles and links`, zig, [
    'c++',
    '-target',
    target,
    '-std=c++17',
    '-Wall',
    '-Wextra',
    '-Werror',
    'test/native/kevent_test.cc',
    '-o',
    path.join(out, `${target}-kevent_test`),
  ]);
}

for (const source of ['native/addon/kqueue.cc', 'native/core/reaper.cc', 'native/core/waker.cc', 'test/native/kevent_test.cc']) {
  check(`NetBSD 9 (intptr_t udata): ${source} compiles`, 'g++', [
    ...flags,
    '-fsyntax-only',
    '-DKQC_SYS_EVENT',
    '-Itest/native/netbsd9',
    ...includes,
    source,
  ]);
}

fs.rmSync(out, { recursive: true, force: true });
console.log(`1..${n}`);
console.log(`# platforms: ${n - failed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
