// A hang-up is not an end: the slave closes and reopens, and meanwhile the
// console neither ends, errors, nor spins. Measured in a quiet child process
// (test/fixtures/hangup-idle.ts), so that neither the test runner nor another
// test is billed to its CPU.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import t from 'tap';
import { within } from './helpers/fixtures';

t.test('hang-up: the slave closes and reopens; the stream neither ends nor spins', async (t) => {
  // Only the TypeScript loader of the runner's flags: none of its reporting.
  const loader = process.execArgv.filter((a) => /typescript|source-maps/.test(a));
  const child = spawn(process.execPath, [...loader, path.join(__dirname, 'fixtures', 'hangup-idle.ts')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  const [code] = await within('child: close', child, 'close', 120_000);
  t.equal(code, 0, 'the process ran to the end');
  const r = JSON.parse(out) as {
    elapsedMs: number;
    wakeups: number;
    processCpuMs: number;
    loopThreadCpuMs: number;
    loopThreadPrecise: boolean;
    text: string;
    ended: boolean;
    errored: string | null;
  };
  t.equal(r.wakeups, 0, `no wake-up reached the console in ${r.elapsedMs} ms of hang-up`);
  // The loop thread is where a spin would be: the library has no thread of
  // its own. Under 10 ms per second (one 10 ms tick more where only ticks
  // can be read).
  const loopLimit = (r.elapsedMs * 10) / 1000 + (r.loopThreadPrecise ? 0 : 10);
  t.ok(
    r.loopThreadCpuMs < loopLimit,
    `the loop thread used ${r.loopThreadCpuMs.toFixed(2)} ms of CPU in ${r.elapsedMs} ms ` +
      `(under ${loopLimit} ms; ${r.loopThreadPrecise ? 'schedstat' : "stat's 10 ms ticks"})`,
  );
  // The whole process, V8's GC and compiler threads included: they may
  // finish earlier work in this window (tens of ms under ASan), but no
  // thread spins, which would be about 1,000 ms per second.
  t.ok(
    (r.processCpuMs * 1000) / r.elapsedMs < 100,
    `the process used ${r.processCpuMs.toFixed(2)} ms of CPU in ${r.elapsedMs} ms, every thread (under 100 ms per second)`,
  );
  t.equal(r.text, 'before\r\nafter reopen\r\n', 'bytes written after the reopen arrive, exactly');
  t.notOk(r.ended, "no 'end' was emitted");
  t.equal(r.errored, null, "no 'error' was emitted");
});
