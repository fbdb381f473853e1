// end() on a pty master is end-of-file for the program, as a person typing
// ^D gives it: the terminal's VEOF, once its line discipline has taken
// everything written before it.
import { Readable } from 'node:stream';
import t from 'tap';
import { spawn, type PtyProcess } from '../src/index';
import { settles, waitUntil } from './helpers/fixtures';

/** Collects a program's output, and resolves with it and its exit once both are in. */
async function finished(p: PtyProcess): Promise<{ out: string; exitCode: number | null }> {
  let out = '';
  p.console.on('data', (b: Buffer) => (out += b.toString()));
  const { exitCode } = await settles(`${p.pid}: exited after end()`, p.exited);
  if (!p.console.readableEnded) await settles('the console: end', new Promise((resolve) => p.console.once('end', resolve)));
  return { out, exitCode };
}

for (const [name, file, args, input, expected] of [
  ['wc -l', 'wc', ['-l'], ['a\n', 'b\n', 'c\n'], /3\r\n$/],
  ['sort', 'sort', [], ['b\n', 'c\n', 'a\n'], /a\r\nb\r\nc\r\n$/],
  ['cat, the last line without its newline', 'cat', [], ['x\n', 'partial'], /partial$/],
  ['python3 reading stdin to its end', 'python3', ['-c', 'import sys; print(len(sys.stdin.read()))'], ['abc\n', 'de'], /de6\r\n$/],
] as const) {
  t.test(`Readable.from([...]).pipe(spawn(${name}).console): the program gets end-of-file and ends`, async (t) => {
    const p = spawn(file, [...args]);
    t.teardown(() => p.kill('SIGKILL'));
    Readable.from([...input]).pipe(p.console);
    const { out, exitCode } = await finished(p);
    t.equal(exitCode, 0, 'it exited 0');
    t.match(out, expected, `having read all the input: ${JSON.stringify(out)}`);
  });
}

t.test("end() uses the terminal's own VEOF, set by the program", async (t) => {
  const p = spawn('sh', ['-c', 'stty eof ^B; echo ready; exec wc -c']);
  t.teardown(() => p.kill('SIGKILL'));
  const done = finished(p);
  let seen = '';
  p.console.on('data', (b: Buffer) => (seen += b.toString()));
  await waitUntil('the program: "ready"', () => seen.includes('ready'), { on: p.console });
  p.console.end('abcd\n');
  const { out, exitCode } = await done;
  t.equal(exitCode, 0, 'wc exited');
  t.match(out, /\r\n5\r\n$/, 'after reading 5 bytes: ^B ended its input');
});

// An absence has to be watched for a while: the program itself reads what
// comes within a second of the first bytes, and prints all it got.
const READ_MORE = [
  'import os, select, sys',
  'got = os.read(0, 64)',
  'while select.select([0], [], [], 1.0)[0]:',
  '    more = os.read(0, 64)',
  '    if not more: break',
  '    got += more',
  'sys.stdout.write(repr(got))',
].join('\n');

t.test('in raw mode end() writes nothing more: no end-of-file character exists there', async (t) => {
  const p = spawn('python3', ['-c', READ_MORE], { raw: true });
  t.teardown(() => p.kill('SIGKILL'));
  const done = finished(p);
  p.console.end('ab');
  const { out } = await done;
  t.equal(out, "b'ab'", 'the program read the bytes written, and no ^D after them');
});
