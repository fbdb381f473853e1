#!/usr/bin/env node
// Builds the prebuilt binaries that go into the package tarball, and checks
// that each loads wherever the official Node binary of its architecture does.
//
//   node scripts/prebuild.mjs [linux-x64] [linux-arm64] [--against <node>]...
//
// linux-arm64 is cross-compiled with Debian's g++-aarch64-linux-gnu. Each is
// built with KQC_PORTABLE (native/core/portable.cc), then `objdump -T` lists the
// symbol versions it needs from glibc, libstdc++ and libgcc: none may be
// newer than what the official Node binaries need (the table below, read
// from their own `objdump -T`; every `--against` binary is checked to need
// no less, so the table cannot silently go stale). The file is named for
// Node-API 8 and the libuv major of the headers it was compiled with (see
// src/addon/loader.ts).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const cmakeJs = path.join(root, 'node_modules', '.bin', 'cmake-js');

// What the official Linux binaries of Node 20, 22 and 24 need at least (glibc
// 2.28 is Node's documented floor since 18: BUILDING.md). libgcc_s versions
// its symbols per architecture.
const COMMON = { GLIBC: '2.28', GLIBCXX: '3.4.21', CXXABI: '1.3.9' };
const FLOOR = { x64: { ...COMMON, GCC: '3.4' }, arm64: { ...COMMON, GCC: '4.2.0' } };

/** x64 or arm64, from the ELF header's e_machine. */
function elfArch(file) {
  const header = Buffer.alloc(20);
  const fd = fs.openSync(file, 'r');
  fs.readSync(fd, header, 0, 20, 0);
  fs.closeSync(fd);
  const machine = header.readUInt16LE(18);
  if (machine === 0x3e) return 'x64';
  if (machine === 0xb7) return 'arm64';
  throw new Error(`${file}: not an x86-64 or aarch64 ELF file (e_machine ${machine})`);
}

const TARGETS = {
  'linux-x64': { arch: 'x64', cmake: [] },
  'linux-arm64': {
    arch: 'arm64',
    cmake: ['--CDCMAKE_SYSTEM_NAME=Linux', '--CDCMAKE_SYSTEM_PROCESSOR=aarch64', '--CDCMAKE_CXX_COMPILER=aarch64-linux-gnu-g++'],
  },
};

function compare(a, b) {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** The newest version of each of glibc, libstdc++, the C++ ABI and libgcc a binary needs. */
function neededVersions(file) {
  const out = execFileSync('objdump', ['-T', file], { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 60_000 });
  const newest = {};
  for (const [, lib, version] of out.matchAll(/\((GLIBC|GLIBCXX|CXXABI|GCC)_([0-9.]+)\)/g)) {
    if (newest[lib] === undefined || compare(version, newest[lib]) > 0) newest[lib] = version;
  }
  return newest;
}

/** Problems: each version `file` needs beyond FLOOR. */
function beyondFloor(file) {
  const floor = FLOOR[elfArch(file)];
  return Object.entries(neededVersions(file))
    .filter(([lib, version]) => floor[lib] === undefined || compare(version, floor[lib]) > 0)
    .map(([lib, version]) => `${lib}_${version} (floor: ${floor[lib] ?? 'none'})`);
}

function uvMajor() {
  const include = path.resolve(process.execPath, '..', '..', 'include', 'node');
  const header = fs.readFileSync(path.join(include, 'uv', 'version.h'), 'utf8');
  return Number(/#define UV_VERSION_MAJOR (\d+)/.exec(header)[1]);
}

function main() {
  const args = process.argv.slice(2);
  const against = [];
  const targets = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--against') against.push(args[++i]);
    else targets.push(args[i]);
  }
  if (targets.length === 0) targets.push(...Object.keys(TARGETS));

  let failed = false;
  for (const node of against) {
    const needs = neededVersions(node);
    for (const [lib, version] of Object.entries(FLOOR[elfArch(node)])) {
      if (needs[lib] !== undefined && compare(needs[lib], version) < 0) {
        console.error(`${node} needs only ${lib}_${needs[lib]}: the floor ${version} is too high, lower it`);
        failed = true;
      }
    }
    console.log(`floor check: ${node} needs ${JSON.stringify(needs)}`);
  }

  const name = `kqueue-console.napi8.uv${uvMajor()}.glibc.node`;
  for (const target of targets) {
    const spec = TARGETS[target];
    if (!spec) throw new Error(`unknown target ${target}; known: ${Object.keys(TARGETS).join(', ')}`);
    const out = path.join(root, 'build-prebuild', target);
    execFileSync(cmakeJs, ['compile', '--out', out, '--CDKQC_PORTABLE=ON', ...spec.cmake], {
      cwd: root,
      stdio: ['ignore', 'inherit', 'inherit'],
      timeout: 15 * 60_000,
    });
    const dir = path.join(root, 'prebuilds', target);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const dest = path.join(dir, name);
    fs.copyFileSync(path.join(out, 'Release', 'kqueue_console.node'), dest);
    execFileSync(spec.arch === 'arm64' ? 'aarch64-linux-gnu-strip' : 'strip', ['--strip-unneeded', dest], { timeout: 60_000 });
    const beyond = beyondFloor(dest);
    if (beyond.length > 0) {
      console.error(`${path.relative(root, dest)} needs more than Node does: ${beyond.join(', ')}`);
      failed = true;
    } else {
      console.log(`${path.relative(root, dest)}: needs ${JSON.stringify(neededVersions(dest))}, within Node's floor`);
    }
  }
  if (failed) process.exit(1);
}

main();
