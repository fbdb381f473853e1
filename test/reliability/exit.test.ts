// A process that exits with consoles open, mid-traffic, exits at once with
// its own code; one that shuts its consoles down ends by itself.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import t from 'tap';
import { within } from '../helpers/fixtures';

async function run(mode: string): Promise<{ code: number | null; signal: string | null; ms: number }> {
  const started = Date.now();
  const child = spawn(process.execPath, [path.join(__dirname, '..', 'fixtures', 'exit-with-consoles.js'), mode], { stdio: 'inherit' });
  const [code, signal] = await within('child: exit', child, 'exit', 120_000);
  return { code: code as number | null, signal: signal as string | null, ms: Date.now() - started };
}

t.test('process.exit(0) with 20 consoles mid-traffic', async (t) => {
  for (let i = 0; i < 10; i++) {
    const r = await run('exit');
    t.same([r.code, r.signal], [0, null], `run ${i}: exit code 0, no signal (${r.ms} ms)`);
    t.ok(r.ms < 5000, 'promptly');
  }
});

t.test('a process whose consoles are shut down ends by itself', async (t) => {
  const r = await run('natural');
  t.same([r.code, r.signal], [0, null], `exit code 0 (${r.ms} ms)`);
});
