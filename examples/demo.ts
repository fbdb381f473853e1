// The flagship demo (npm start): a shell served in a pty over a socket on
// 127.0.0.1 with a token (kqueue-console/server, as `kqueue-console serve
// --port` serves it), driven through the socket by the harness, then
// detached and attached again to the same shell and screen.
// Non-interactive, self-contained; exits 0 when every step checked out.
import { once } from 'node:events';
import * as net from 'node:net';
import { Harness } from 'kqueue-console/harness';
import { NONCE_BYTES, SessionStream, clientAuth, frame, serveSessions } from 'kqueue-console/server';

const BIG = 3_000_000;

/** Long runs of one character, abridged for printing. */
function abridge(text: string): string {
  return text.replace(
    /(.)\1{79,}/g,
    (run, ch: string) => `${ch.repeat(20)}…[${run.length.toLocaleString('en-US')} × ${JSON.stringify(ch)}]…`,
  );
}

async function main(): Promise<void> {
  const server = await serveSessions({
    command: 'sh',
    args: ['-i'],
    env: { PATH: process.env.PATH, PS1: 'demo$ ', TERM: 'xterm' },
    listen: { host: '127.0.0.1', port: 0 },
  });
  if ('path' in server.address) throw new Error('expected a TCP address');
  const { port } = server.address;
  console.log(`server: 127.0.0.1:${port}, token ${server.token.slice(0, 8)}… (${server.token.length} hex digits)`);
  await wrongTokenGetsNothing(port);

  const client = new SessionStream(server.address, { session: 'demo', token: server.token });
  // Keeps the whole transcript: the big command's 3 MB are counted from it.
  const h = Harness.attach(client, undefined, { keep: 8 << 20 });
  const before = await driveShell(h, client);
  await reattach(server.address, server.token);
  await server.close();
  printTranscript(h, before);
}

/** Detached, the shell goes on; a client that attaches again sees its screen and drives it on. */
async function reattach(address: { port: number }, token: string): Promise<void> {
  const again = new SessionStream(address, { session: 'demo', token });
  const h = Harness.attach(again);
  await h.waitFor((s) => s.text.includes('big-done'));
  console.log(
    `attached again to session ${(await again.welcome).name}: the screen came back, ending with ${JSON.stringify(h.screen().lines.filter(Boolean).at(-1))}`,
  );
  await h.send('exit\n');
  await h.exit();
}

/** A client with the wrong token gets nothing: not one byte of the pty, only the server's nonce. */
async function wrongTokenGetsNothing(port: number): Promise<void> {
  const intruder = net.connect(port, '127.0.0.1');
  let received = Buffer.alloc(0);
  intruder.on('data', (b: Buffer) => {
    received = Buffer.concat([received, b]);
    if (received.length === NONCE_BYTES) intruder.write(frame(1, clientAuth('guess', received)));
  });
  await once(intruder, 'close');
  const stolen = received.length - NONCE_BYTES;
  console.log(`wrong token: disconnected after ${stolen} bytes past the server's nonce`);
  if (stolen !== 0) throw new Error('a wrong token got output');
}

/** An echo, `stty size` after a resize, and a 3 MB command; then detach. Returns the transcript's length before the big command. */
async function driveShell(h: Harness, client: SessionStream): Promise<number> {
  await h.expect('demo$ ');
  await h.send('echo hello over the socket\n');
  await h.expect('hello over the socket\r\n');
  await h.expect('demo$ ');

  client.resize({ rows: 42, cols: 120 });
  await h.send('stty size\n');
  await h.expect('42 120\r\n');
  await h.expect('demo$ ');

  const before = h.transcriptBytes().length;
  await h.send(`head -c ${BIG} /dev/zero | tr '\\0' x; echo; echo big-done\n`);
  await h.expect('; echo big-done\r\n'); // The shell's echo of the command line.
  const big = await h.expect('\r\nbig-done\r\n', { timeout: 60_000 });
  const bigBytes = big.before.length - big.before.replace(/x/g, '').length;
  await h.expect('demo$ ');
  if (bigBytes !== BIG) throw new Error(`the big output arrived with ${bigBytes} of ${BIG} bytes`);

  // Detached: the session lingers, its shell waiting at the prompt.
  client.end();
  await h.exit();
  return before;
}

function printTranscript(h: Harness, before: number): void {
  console.log('--- transcript ---');
  console.log(abridge(h.transcript()).trimEnd());
  console.log('--- counts ---');
  console.log(`bytes from the pty through the socket: ${h.transcriptBytes().length.toLocaleString('en-US')}`);
  console.log(
    `of which the big command: ${(h.transcriptBytes().length - before).toLocaleString('en-US')} (its ${BIG.toLocaleString('en-US')} x's all arrived)`,
  );
  console.log('demo: ok');
}

main().catch((err) => {
  console.error(err);
  // The server and the session may still be open: a failed step ends the demo.
  process.exit(1);
});
