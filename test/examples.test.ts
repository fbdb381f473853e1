// Every example runs as a test; the README's usage example's output is compared exactly.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { within } from './helpers/fixtures';

const root = path.join(__dirname, '..');

/** Runs an example with the same TypeScript loader this test runs under. */
async function runExample(file: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [...process.execArgv, path.join(root, 'examples', file)], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const [code] = await within('child: close', child, 'close', 120_000);
  return { code: code as number | null, stdout, stderr };
}

t.test('the README usage example runs and prints exactly what it should', async (t) => {
  const run = await runExample('usage.ts');
  t.equal(run.stderr, '', 'nothing on stderr');
  t.equal(run.code, 0, 'exit code 0');
  t.equal(run.stdout, 'hello from a pty\nbye\nchild exited with 3\n', 'the exact output');
});

t.test('the README shows the usage example as it is in examples/usage.ts', async (t) => {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const example = fs.readFileSync(path.join(root, 'examples', 'usage.ts'), 'utf8');
  // From the first line that is an import statement: the header comment may say 'import' too.
  const body = example.slice(example.search(/^import /m));
  t.ok(
    readme.includes('```ts\n' + body.trim() + '\n```'),
    'the README quotes examples/usage.ts, from its first import line on, as one code block',
  );
});

t.test('examples/node-pty.ts: node-pty spawns, kqueue-console does the I/O', async (t) => {
  const run = await runExample('node-pty.ts');
  t.equal(run.stderr, '');
  t.equal(run.code, 0);
  t.equal(run.stdout, 'hello from node-pty\r\nworld\r\nhi world\r\n30 100\r\nexit code 0\n', 'the exact output');
});

t.test('npm start: the flagship demo runs to completion', async (t) => {
  const run = await runExample('demo.ts');
  t.equal(run.stderr, '', 'nothing on stderr');
  t.equal(run.code, 0, 'exit code 0');
  t.match(run.stdout, /wrong token: disconnected after 0 bytes/);
  t.match(run.stdout, /demo\$ stty size\r?\n42 120\r?\n/);
  t.match(run.stdout, /its 3,000,000 x's all arrived/);
  t.match(run.stdout, /demo: ok\n$/);
});
