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

/**
 * What it costs here, now, to start this Node, load the library and exit:
 * the yardstick for "promptly", so that a loaded machine or qemu, which slow
 * both alike, do not fail it.
 */
async function yardstick(): Promise<number> {
  const started = Date.now();
  const index = JSON.stringify(path.join(__dirname, '..', '..', 'dist', 'index.js'));
  const child = spawn(process.execPath, ['-e', `require(${index})`], { stdio: 'inherit' });
  await within('node loading the library: exit', child, 'exit', 120_000);
  return Date.now() - started;
}

t.test('process.exit(0) with 20 consoles mid-traffic', async (t) => {
  for (let i = 0; i < 10; i++) {
    const ms = await yardstick();
    const r = await run('exit');
    t.same([r.code, r.signal], [0, null], `run ${i}: exit code 0, no signal (${r.ms} ms)`);
    // Opening 10 ptys and reading 64 KiB add little; waiting on them at exit would add seconds.
    t.ok(r.ms < 10 * ms + 1000, `promptly: ${r.ms} ms, where loading the library and exiting took ${ms} ms`);
  }
});

t.test('a process whose consoles are shut down ends by itself', async (t) => {
  const r = await run('natural');
  t.same([r.code, r.signal], [0, null], `exit code 0 (${r.ms} ms)`);
});
