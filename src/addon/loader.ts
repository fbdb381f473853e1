/**
 * Finds and loads the native addon: a developer's own build first, then the
 * prebuilt binary that matches this process.
 *
 * A prebuilt binary's name carries what it was built against:
 * `prebuilds/<platform>-<arch>/kqueue-console.napi<N>.uv<M>.<libc>.node`.
 * Node-API's ABI promise covers `napi<N>` (any Node with Node-API >= N), but
 * the addon also uses libuv's `uv_poll_t` and `uv_async_t` directly, and
 * libuv promises ABI stability only within a major version: a binary is
 * loaded only under the libuv major it was built for. `<libc>` is `glibc` or
 * `musl` on Linux (a glibc binary does not load on musl).
 *
 * The install script (scripts/install.js) calls {@link loadPrebuilt} to decide
 * whether anything needs compiling.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { codedError } from '../errors';

/** The package root: two directories above this file (`dist/addon/`, or `src/addon/` under the tests). */
export const packageRoot = path.join(__dirname, '..', '..');

/** What a prebuilt binary must have been built for, to load in this process. */
export interface RuntimeTag {
  platform: string;
  arch: string;
  libc: 'glibc' | 'musl' | '';
  napi: number;
  uvMajor: number;
}

export function runtimeTag(): RuntimeTag {
  let libc: RuntimeTag['libc'] = '';
  if (process.platform === 'linux') {
    const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
    libc = header?.glibcVersionRuntime ? 'glibc' : 'musl';
  }
  return {
    platform: process.platform,
    arch: process.arch,
    libc,
    napi: Number(process.versions.napi),
    uvMajor: Number(process.versions.uv.split('.')[0]),
  };
}

const prebuildName = /^kqueue-console\.napi(\d+)\.uv(\d+)\.(glibc|musl|none)\.node$/;

/** The file name a prebuilt binary gets (scripts/prebuild.mjs). */
export function prebuildFileName(napi: number, uvMajor: number, libc: RuntimeTag['libc']): string {
  return `kqueue-console.napi${napi}.uv${uvMajor}.${libc || 'none'}.node`;
}

/**
 * The prebuilt binary for this process, or why there is none: the newest
 * Node-API version this Node has, built for its libuv major and libc.
 */
export function findPrebuild(root = packageRoot, tag = runtimeTag()): { path: string } | { reason: string } {
  const dir = path.join(root, 'prebuilds', `${tag.platform}-${tag.arch}`);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return { reason: `no prebuilt binary for ${tag.platform}-${tag.arch} in this package` };
  }
  let best: { napi: number; name: string } | undefined;
  const seen: string[] = [];
  for (const name of names) {
    const m = prebuildName.exec(name);
    if (!m) continue;
    seen.push(name);
    const napi = Number(m[1]);
    if (napi > tag.napi || Number(m[2]) !== tag.uvMajor || m[3] !== (tag.libc || 'none')) continue;
    if (best === undefined || napi > best.napi) best = { napi, name };
  }
  if (best === undefined) {
    return {
      reason:
        `none of the prebuilt binaries for ${tag.platform}-${tag.arch} (${seen.join(', ') || 'none'}) fits ` +
        `Node-API ${tag.napi}, libuv ${tag.uvMajor}.x, ${tag.libc || 'no libc tag'}`,
    };
  }
  return { path: path.join(dir, best.name) };
}

/** A developer's (or the install script's) cmake-js build. */
export function localBuildPath(root = packageRoot): string {
  return path.join(root, 'build', 'Release', 'kqueue_console.node');
}

/**
 * Loads the prebuilt binary for this process. Throws when there is none or
 * when it does not load (a glibc older than it needs, a broken file).
 */
export function loadPrebuilt(root = packageRoot): { exports: unknown; path: string } {
  const found = findPrebuild(root);
  if (!('path' in found)) throw new Error(found.reason);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return { exports: require(found.path), path: found.path };
}

export interface LoadedAddon {
  exports: unknown;
  path: string;
}

/**
 * Loads the addon: `KQUEUE_CONSOLE_ADDON` when set (the tests use it for
 * sanitizer and libkqueue builds), else a local build, else the prebuilt
 * binary. Called on the first use of the addon (binding.ts), not at
 * require(): so `require('kqueue-console')` succeeds and the first call
 * that needs the addon throws.
 * @throws ERR_ADDON_NOT_LOADED when none loads, saying what was tried and
 *   what to do.
 */
export function loadAddon(root = packageRoot): LoadedAddon {
  const fromEnv = process.env.KQUEUE_CONSOLE_ADDON;
  if (fromEnv) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return { exports: require(fromEnv), path: fromEnv };
  }
  const tried: string[] = [];
  const local = localBuildPath(root);
  if (fs.existsSync(local)) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return { exports: require(local), path: local };
    } catch (err) {
      tried.push(`${local}: ${(err as Error).message}`);
    }
  } else {
    tried.push(`${local}: not built`);
  }
  try {
    return loadPrebuilt(root);
  } catch (err) {
    tried.push((err as Error).message);
  }
  throw codedError(
    'ERR_ADDON_NOT_LOADED',
    'kqueue-console: its native addon could not be loaded.\n' +
      tried.map((t) => `  - ${t}\n`).join('') +
      'To build it for this machine, run `npm install cmake-js node-addon-api` and then `npm rebuild kqueue-console` ' +
      '(or allow the package its install script, which npm may block: see `allowScripts`/`--allow-scripts`). ' +
      "Building needs CMake >= 3.15, a C++17 compiler and Node's own headers (uv.h, in <prefix>/include/node next to the node binary).",
  );
}
