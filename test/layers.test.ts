// The layering rule of `npm run lint` (scripts/check-layers.mjs) fails on a
// violation: each is planted in a copy of the tree, never in the tree itself.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t, { type Test } from 'tap';

const root = path.join(__dirname, '..');
const checker = path.join(root, 'scripts', 'check-layers.mjs');

/** A copy of src/, native/ and examples/ in a directory the test removes. */
function copyOfTree(t: Test): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kqc-layers-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const part of ['src', 'native', 'examples']) fs.cpSync(path.join(root, part), path.join(dir, part), { recursive: true });
  return dir;
}

function check(dir: string): { status: number | null; output: string } {
  const run = spawnSync(process.execPath, [checker, '--root', dir], { encoding: 'utf8', timeout: 60_000 });
  return { status: run.status, output: run.stdout + run.stderr };
}

function plant(dir: string, file: string, line: string): void {
  const p = path.join(dir, file);
  fs.writeFileSync(p, line + '\n' + fs.readFileSync(p, 'utf8'));
}

t.test('the tree as it is follows the layering', async (t) => {
  const run = check(copyOfTree(t));
  t.equal(run.status, 0, run.output);
});

const violations: [what: string, file: string, line: string, reported: RegExp][] = [
  [
    'stream/ imports process/',
    'src/stream/reader.ts',
    "import type { PtyProcess } from '../process/spawn';",
    /src\/stream\/reader\.ts: .*stream may not import process/,
  ],
  ['stream/ imports harness/', 'src/stream/writer.ts', "import '../harness';", /stream may not import harness/],
  ['index.ts imports harness/', 'src/index.ts', "export { Harness } from './harness';", /index may not import harness/],
  ['errors.ts imports addon/', 'src/errors.ts', "import type { NativeBinding } from './addon/binding';", /base may not import addon/],
  [
    'a type-only cycle within a layer',
    'src/stream/events.ts',
    "import type { KqueueConsole } from './kqueue-console';",
    /circular imports: .*src\/stream\/events\.ts/,
  ],
  [
    'an example imports src/',
    'examples/usage.ts',
    "import { spawn as s } from '../src/index';",
    /examples\/usage\.ts: imports '\.\.\/src\/index'/,
  ],
  ['native/core/ includes <napi.h>', 'native/core/thread.h', '#include <napi.h>', /native\/core\/thread\.h:1: includes <napi\.h>/],
  [
    'native/kevent/ includes core/',
    'native/kevent/kevent.h',
    '#include "../core/thread.h"',
    /native\/kevent\/kevent\.h:1: includes "\.\.\/core\/thread\.h"/,
  ],
];

for (const [what, file, line, reported] of violations) {
  t.test(`a planted violation fails the check: ${what}`, async (t) => {
    const dir = copyOfTree(t);
    plant(dir, file, line);
    const run = check(dir);
    t.equal(run.status, 1, 'the check exits 1');
    t.match(run.output, reported, 'and names the file and the rule broken');
  });
}
