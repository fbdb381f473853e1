// The published typings catch a consumer's mistakes: test/types/consumer.mts
// is compiled against dist/*.d.ts (built with stripInternal by `npm test`'s
// pretest), and each of its @ts-expect-error lines must still be an error.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import t from 'tap';

t.test("a consumer's module type-checks, and every mistake in it is a compile error", async (t) => {
  const root = path.join(__dirname, '..');
  const tsc = require.resolve('typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', path.join('test', 'types', 'tsconfig.json')], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
  });
  t.equal(r.status, 0, `tsc exited 0${r.stdout ? `; it said:\n${r.stdout}` : ''}${r.error ? ` (${r.error.message})` : ''}`);
});
