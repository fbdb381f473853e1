// The harness drives real programs on real ptys.
import { PassThrough, Duplex } from 'node:stream';
import t from 'tap';
import { Harness } from '../src/harness';

t.test('drives sh through a prompt, a command and its output', async (t) => {
  const h = Harness.spawn('sh', { env: { PATH: process.env.PATH, PS1: 'prompt> ' }, args: ['-i'] });
  await h.expect('prompt> ');
  await h.send('echo "sum: $((40 + 2))"\n');
  const m = await h.expect(/sum: (\d+)\r\n/);
  t.same(m.groups, ['42'], 'the output, captured');
  await h.expect('prompt> ');
  await h.send('exit 3\n');
  t.equal(await h.exit(), 3, 'the exit code');
  t.match(h.transcript(), /prompt> echo "sum: \$\(\(40 \+ 2\)\)"\r\nsum: 42\r\nprompt> exit 3\r\n/, 'the whole transcript');
});

t.test('a deliberate timeout fails with the transcript in its message', async (t) => {
  const h = Harness.spawn('sh', { args: ['-c', 'echo ready; sleep 5'] });
  await h.expect('ready');
  const err = await h.expect('never printed', { timeout: 200 }).catch((e: Error & { code?: string; transcript?: string }) => e);
  t.equal((err as { code?: string }).code, 'ERR_EXPECT_TIMEOUT');
  t.match((err as Error).message, /no match in 200 ms; the transcript so far:\nready\r\n/);
  h.close();
});

t.test('binary-safe; a match or a UTF-8 character split across chunks is found', async (t) => {
  const pipe = new PassThrough();
  const h = Harness.attach(Duplex.from({ readable: pipe, writable: new PassThrough() }));
  const euro = Buffer.from('price: 5€ done');
  const cut = euro.indexOf(0xe2) + 1; // Inside the three bytes of '€'.
  pipe.write(euro.subarray(0, cut));
  await new Promise((r) => setImmediate(r));
  pipe.write(euro.subarray(cut));
  t.same((await h.expect('5€ do')).before, 'price: ', 'a match across a split character');
  pipe.write(Buffer.from([0, 1, 2, 0xff, 0xfe, 3]));
  const m = await h.expect(Buffer.from([0xff, 0xfe]));
  t.equal(m.before, 'price: 5€ done\u0000\u0001\u0002'.replace('€', Buffer.from('€').toString('latin1')), 'bytes before the byte match');
  t.same([...h.transcriptBytes().subarray(-6)], [0, 1, 2, 0xff, 0xfe, 3], 'the raw bytes are kept');
  pipe.end();
  await t.rejects(
    h.expect('not there'),
    { code: 'ERR_EXPECT_TIMEOUT', message: /the output ended/ },
    'fails at once when the output has ended',
  );
});
