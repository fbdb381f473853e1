// Every message a logged-in client can send, in every state of its session,
// to both example servers: none may throw into the server's event loop
// (one client's late resize used to end the server and every session in
// it). After each case the server still runs, and serves a new session.
import * as net from 'node:net';
import type { ChildProcess } from 'node:child_process';
import t, { type Test } from 'tap';
import { frame, handshakeOn, pipeFrame, session, startPipeServer } from './helpers/clients';
import { settles, waitUntil } from './helpers/fixtures';
import { startServer } from './helpers/web-server';

// Prints, waits for one line of input, then exits: the states are 'running'
// (after "ready"), 'exited' (after the line), and 'closing' (after the
// client's own close).
const PROGRAM = ['sh', '-c', 'echo ready; read x; echo bye'];
const STATES = ['running', 'exited', 'closing'] as const;

/** Waits for the server to end session `id`, or to die, and asserts that it runs on. */
async function runsOn(t: Test, server: { proc: ChildProcess; out: () => string }, id: number, what: string): Promise<void> {
  const ended = new RegExp(`^session ${id} ended`, 'm');
  await waitUntil(`the server to end session ${id}, or to die`, () => ended.test(server.out()) || server.proc.exitCode !== null);
  t.equal(server.proc.exitCode, null, `${what}: the server runs on`);
}

/** A WebSocket close frame from the client (masked, code 1000). */
function closeFrame(): Buffer {
  return Buffer.from([0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8]);
}

const WEB_MESSAGES: [string, Buffer][] = [
  ['input', frame(JSON.stringify({ type: 'input', data: 'late\r' }))],
  ['resize', frame(JSON.stringify({ type: 'resize', rows: 30, cols: 100 }))],
  ['ack', frame(JSON.stringify({ type: 'ack', bytes: 1 }))],
  ['an ack of more than was sent', frame(JSON.stringify({ type: 'ack', bytes: 1 << 30 }))],
  ['an unknown type', frame(JSON.stringify({ type: 'nonsense' }))],
  ['malformed JSON', frame('{"type":')],
];

const PIPE_MESSAGES: [string, Buffer][] = [
  ['DATA', pipeFrame(2, Buffer.from('late\n'))],
  ['RESIZE', pipeFrame(3, Buffer.from([0, 30, 0, 100]))],
  ['a RESIZE of the wrong length', pipeFrame(3, Buffer.from([0, 30]))],
  ['an unknown type', pipeFrame(9, Buffer.from('x'))],
];

t.test('web terminal: each message in each state of a session', async (t) => {
  const server = await startServer((fn) => t.teardown(fn), PROGRAM);
  let n = 0;
  for (const state of STATES) {
    for (const [what, message] of WEB_MESSAGES) {
      const c = await session(server.port, server.token);
      t.teardown(() => c.socket.destroy());
      const id = ++n;
      await waitUntil(`session ${id}: "ready"`, () => c.received().includes('ready'), { on: c.socket });
      if (state === 'exited') {
        c.socket.write(frame(JSON.stringify({ type: 'input', data: 'go\r' })));
        await waitUntil(`session ${id}: the exit message`, () => c.received().includes('"type":"exit"'), { on: c.socket });
      } else if (state === 'closing') {
        c.socket.write(closeFrame());
      }
      c.socket.write(message);
      c.socket.end();
      await settles(`session ${id}: closed`, c.closed);
      await runsOn(
        t,
        server,
        id,
        `${what} ${state === 'running' ? 'while the program runs' : state === 'exited' ? 'after it exited' : 'after the client closed'}`,
      );
    }
  }
  const last = await session(server.port, server.token);
  t.teardown(() => last.socket.destroy());
  await waitUntil('a new session: "ready"', () => last.received().includes('ready'), { on: last.socket });
  t.pass('and serves a new session');
});

/** A session client on a port (kqueue-console serve) that may write after the server's end of file (half-open). */
async function pipeClient(
  port: number,
  token: string,
): Promise<{ sock: net.Socket; output: () => string; ended: Promise<void>; closed: Promise<void> }> {
  const sock = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  sock.on('error', () => {});
  const ended = new Promise<void>((resolve) => sock.once('end', () => resolve()));
  const closed = new Promise<void>((resolve) => sock.once('close', () => resolve()));
  const { output } = handshakeOn(sock, token);
  return { sock, output, ended, closed };
}

t.test('kqueue-console serve: each frame in each state of a session', async (t) => {
  const server = await startPipeServer(t, ['--port', '0', '--', ...PROGRAM]);
  let n = 0;
  // A client that has half-closed can send nothing more: two states here.
  for (const state of ['running', 'exited'] as const) {
    for (const [what, message] of PIPE_MESSAGES) {
      const c = await pipeClient(server.port, server.token());
      t.teardown(() => c.sock.destroy());
      const id = ++n;
      await waitUntil(`session ${id}: "ready"`, () => c.output().includes('ready'), { on: c.sock });
      if (state === 'exited') {
        c.sock.write(pipeFrame(2, Buffer.from('go\n')));
        await settles(`session ${id}: the end of the program's output`, c.ended);
      }
      c.sock.end(message);
      await settles(`session ${id}: closed`, c.closed);
      await runsOn(t, server, id, `${what} ${state === 'running' ? 'while the program runs' : 'after its end of file'}`);
    }
  }
  const last = await pipeClient(server.port, server.token());
  t.teardown(() => last.sock.destroy());
  await waitUntil('a new session: "ready"', () => last.output().includes('ready'), { on: last.sock });
  t.pass('and serves a new session');
});
