// Which native binary the package loads: the tags of a prebuilt binary's name
// against this process (Node-API, libuv's major, libc), the local build
// first, and an error that says what to do when nothing loads. The packed
// package itself is tested by scripts/test-package.mjs in CI.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { findPrebuild, loadAddon, prebuildFileName, runtimeTag, type RuntimeTag } from '../src/addon/loader';

function packageWith(t: { teardown(fn: () => void): void }, names: string[], dir = 'linux-x64'): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kqc-loader-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  fs.mkdirSync(path.join(root, 'prebuilds', dir), { recursive: true });
  for (const name of names) fs.writeFileSync(path.join(root, 'prebuilds', dir, name), '');
  return root;
}

const node20: RuntimeTag = { platform: 'linux', arch: 'x64', libc: 'glibc', napi: 9, uvMajor: 1 };

t.test('a prebuilt binary is chosen by its tags', async (t) => {
  const root = packageWith(t, [
    prebuildFileName(8, 1, 'glibc'),
    prebuildFileName(9, 1, 'glibc'),
    prebuildFileName(10, 1, 'glibc'),
    prebuildFileName(9, 1, 'musl'),
    prebuildFileName(9, 2, 'glibc'),
    'README.md',
  ]);
  const chosen = findPrebuild(root, node20);
  t.same(
    chosen,
    { path: path.join(root, 'prebuilds', 'linux-x64', 'kqueue-console.napi9.uv1.glibc.node') },
    'the newest Node-API this Node has, for its libuv and libc',
  );
  const musl = findPrebuild(root, { ...node20, libc: 'musl' });
  t.match(musl, { path: /napi9\.uv1\.musl\.node$/ }, 'musl gets the musl one');
  const uv2 = findPrebuild(root, { ...node20, uvMajor: 2 });
  t.match(uv2, { path: /napi9\.uv2\.glibc\.node$/ }, 'a libuv 2 Node gets the one built for libuv 2');
});

t.test('no prebuilt binary is loaded under a libuv, libc or Node-API it was not built for', async (t) => {
  const root = packageWith(t, [prebuildFileName(8, 1, 'glibc')]);
  t.match(findPrebuild(root, { ...node20, uvMajor: 2 }), { reason: /fits Node-API 9, libuv 2\.x, glibc/ }, 'libuv 2');
  t.match(findPrebuild(root, { ...node20, libc: 'musl' }), { reason: /musl/ }, 'musl');
  t.match(findPrebuild(root, { ...node20, napi: 7 }), { reason: /Node-API 7/ }, 'a Node-API older than the binary needs');
  t.match(findPrebuild(root, { ...node20, arch: 'arm64' }), { reason: /no prebuilt binary for linux-arm64/ }, 'another architecture');
});

/**
 * A number #defined in the running Node's own headers (include/node beside
 * its bin/), which its release installs: an account of its libuv and
 * Node-API that does not come from process.versions, which the loader reads.
 * Null where there are none (Bun and Deno ship no Node headers).
 */
function headerDefine(file: string, name: string): number | null {
  const header = path.resolve(process.execPath, '..', '..', 'include', 'node', file);
  if (!fs.existsSync(header)) return null;
  const m = new RegExp(`^#define ${name} (\\d+)$`, 'm').exec(fs.readFileSync(header, 'utf8'));
  return m === null ? null : Number(m[1]);
}

const uvMajorOfHeaders = headerDefine(path.join('uv', 'version.h'), 'UV_VERSION_MAJOR');
const napiOfHeaders = headerDefine('node_version.h', 'NAPI_VERSION');
const noHeaders = uvMajorOfHeaders === null || napiOfHeaders === null ? 'this runtime has no Node headers to compare with' : false;

t.test("this process: its libuv and Node-API, as the runtime's own headers say", { skip: noHeaders }, async (t) => {
  const tag = runtimeTag();
  t.equal(tag.uvMajor, uvMajorOfHeaders, "libuv's major version, as uv/version.h says");
  t.equal(tag.napi, napiOfHeaders, 'Node-API, as node_version.h says');
});

t.test('this process: its libc', async (t) => {
  t.equal(runtimeTag().libc, 'glibc', 'glibc (Debian)');
});

t.test('when nothing loads, the error says what was tried and what to do', async (t) => {
  const root = packageWith(t, [prebuildFileName(8, 9, 'glibc')]);
  const saved = process.env.KQUEUE_CONSOLE_ADDON;
  delete process.env.KQUEUE_CONSOLE_ADDON;
  t.teardown(() => {
    if (saved !== undefined) process.env.KQUEUE_CONSOLE_ADDON = saved;
  });
  const err = (() => {
    try {
      loadAddon(root);
    } catch (e) {
      return e as Error & { code?: string };
    }
    return null;
  })();
  t.equal(err?.code, 'ERR_ADDON_NOT_LOADED', 'a stable code');
  t.match(err?.message, /build[/\\]Release[/\\]kqueue_console\.node: not built/, 'the local build it looked for');
  t.match(err?.message, /libuv 1\.x/, 'why the prebuilt binary did not fit');
  t.match(err?.message, /npm rebuild kqueue-console/, 'and what to run');
  t.match(err?.message, /CMake >= 3\.15, a C\+\+17 compiler/, 'with what the build needs');
});

t.test('a local build comes first', async (t) => {
  const root = packageWith(t, []);
  const saved = process.env.KQUEUE_CONSOLE_ADDON;
  delete process.env.KQUEUE_CONSOLE_ADDON;
  t.teardown(() => {
    if (saved !== undefined) process.env.KQUEUE_CONSOLE_ADDON = saved;
  });
  // A real addon copied to where cmake-js puts it: this one, whichever it is.
  const real = path.join(__dirname, '..', 'build', 'Release', 'kqueue_console.node');
  fs.mkdirSync(path.join(root, 'build', 'Release'), { recursive: true });
  fs.copyFileSync(saved ?? real, path.join(root, 'build', 'Release', 'kqueue_console.node'));
  const loaded = loadAddon(root);
  t.equal(loaded.path, path.join(root, 'build', 'Release', 'kqueue_console.node'), 'build/Release is loaded');
  t.type((loaded.exports as { Kqueue?: unknown }).Kqueue, 'function', 'and is the addon');
});
