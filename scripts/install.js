#!/usr/bin/env node
// npm's install hook. Does nothing when the package's prebuilt binary loads
// in this Node (really loads: a glibc older than it needs is caught here),
// and compiles the addon with cmake-js when none does, or when asked to
// build from source (`npm install --build-from-source`, which npm passes as
// npm_config_build_from_source).
//
// cmake-js and node-addon-api are optional peer dependencies: an install
// that uses a prebuilt binary (linux-x64, linux-arm64) needs neither. Where
// one must compile, they are installed beside the package, in the same
// `npm install`, and found from here.
//
// In a git checkout there is no dist/ yet (npm runs `prepare` after this) and
// no prebuilds/: it compiles, as a developer wants.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');

function wantsSource() {
  const v = process.env.npm_config_build_from_source;
  return v === 'true' || v === 'kqueue-console';
}

function prebuiltLoads() {
  const loader = path.join(root, 'dist', 'addon', 'loader.js');
  if (!fs.existsSync(loader)) return 'no dist/ (a git checkout)';
  try {
    const { path: file } = require(loader).loadPrebuilt(root);
    console.log(`kqueue-console: using the prebuilt binary ${path.relative(root, file)}`);
    return true;
  } catch (err) {
    return err.message;
  }
}

const why = wantsSource() ? 'asked to build from source' : prebuiltLoads();
if (why === true) process.exit(0);

const STEP = 'npm install kqueue-console cmake-js node-addon-api';
const missing = ['cmake-js', 'node-addon-api'].filter((name) => {
  try {
    require.resolve(`${name}/package.json`, { paths: [root] });
    return false;
  } catch {
    return true;
  }
});
if (missing.length > 0) {
  console.error(
    `kqueue-console: no prebuilt binary fits this machine (${why}), and compiling one needs\n` +
      `${missing.join(' and ')}, which ${missing.length > 1 ? 'are' : 'is'} not installed. Install the package with them:\n\n` +
      `  ${STEP}\n`,
  );
  process.exit(1);
}

console.log(`kqueue-console: compiling the addon (${why})`);
const cmakeJs = path.join(path.dirname(require.resolve('cmake-js/package.json', { paths: [root] })), 'bin', 'cmake-js');
// A compile that has not ended in 30 minutes (a slow machine takes one or two) hangs.
const build = spawnSync(process.execPath, [cmakeJs, 'compile'], { cwd: root, stdio: 'inherit', timeout: 30 * 60_000 });
if (build.status !== 0) {
  console.error(
    `\nkqueue-console: the addon did not compile${build.error ? ` (${build.error.message})` : ''}, and no prebuilt binary fits this machine.\n` +
      "Building needs CMake >= 3.15, a C++17 compiler and Node's own headers (uv.h, in\n" +
      '<prefix>/include/node next to the node binary; on Debian, the nodejs or libnode-dev package).\n' +
      'Then run `npm rebuild kqueue-console`.',
  );
  process.exit(build.status ?? 1);
}
