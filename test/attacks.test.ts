// Attacks on the web terminal example from loopback, by a client that
// speaks HTTP and WebSocket frames by hand and follows no rule it is not
// made to. The server runs as its own process (as `npm run web` runs it),
// and /proc says what each attack cost it: memory, fds, children.
import * as net from 'node:net';
import t from 'tap';
import { within } from './helpers/fixtures';
import { startServer } from './helpers/web-server';

/** A raw connection to the server: everything it sends is counted and otherwise ignored. */
async function connect(port: number, request: string): Promise<{ socket: net.Socket; received: () => string; closed: Promise<void> }> {
  const socket = net.connect(port, '127.0.0.1');
  let received = '';
  socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await within('socket: connect', socket, 'connect');
  socket.write(request);
  return { socket, received: () => received, closed };
}

function request(port: number, path: string, extra = ''): string {
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${extra}\r\n`;
}

t.test('a request line that is no URL gets a 400, and the server lives', async (t) => {
  const server = await startServer((fn) => t.teardown(fn));
  for (const [what, req] of [
    ['GET', request(server.port, '//[')],
    ['an upgrade', request(server.port, '//[', 'Upgrade: websocket\r\nConnection: Upgrade\r\n')],
  ]) {
    const c = await connect(server.port, req);
    await c.closed;
    t.match(c.received(), /^HTTP\/1\.1 400 /, `${what} of //[ is answered 400`);
  }
  const page = await connect(server.port, request(server.port, '/', 'Connection: close\r\n'));
  await page.closed;
  t.match(page.received(), /^HTTP\/1\.1 200 /, 'and the page is still served');
  t.equal(server.proc.exitCode, null, 'the server is running');
});
