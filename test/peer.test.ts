// peerUid(): the credentials the kernel recorded for the other end of a Unix
// socket, read from both ends of a real connection.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { peerUid } from '../src/index';
import { waitUntil, within } from './helpers/fixtures';

t.test('peerUid(): both ends of a Unix socket see this user; what has no peer credentials is refused', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kqc-peer-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const accepted: net.Socket[] = [];
  const server = net.createServer((s) => accepted.push(s));
  t.teardown(() => server.close());
  server.listen(path.join(dir, 'sock'));
  await within('the server: listening', server, 'listening');
  const client = net.connect(path.join(dir, 'sock'));
  t.teardown(() => client.destroy());
  await within('the client: connect', client, 'connect');
  t.equal(peerUid(client), process.getuid!(), "the client sees the server's uid");
  await waitUntil('the server: connection', () => accepted.length === 1);
  t.equal(peerUid(accepted[0]), process.getuid!(), "the server sees the client's uid");
  accepted[0].destroy();

  const tcp = net.createServer((s) => s.destroy());
  t.teardown(() => tcp.close());
  tcp.listen(0, '127.0.0.1');
  await within('the TCP server: listening', tcp, 'listening');
  const viaTcp = net.connect((tcp.address() as net.AddressInfo).port, '127.0.0.1');
  viaTcp.on('error', () => {});
  t.teardown(() => viaTcp.destroy());
  await within('the TCP client: connect', viaTcp, 'connect');
  t.throws(
    () => peerUid(viaTcp),
    { syscall: 'getsockname', code: 'EAFNOSUPPORT' },
    'a TCP socket has no peer credentials (Linux would answer uid -1): EAFNOSUPPORT',
  );
  t.throws(() => peerUid(new net.Socket()), { code: 'ERR_INVALID_ARG_VALUE' }, 'a socket with no fd yet');
  t.throws(() => peerUid({} as never), { code: 'ERR_INVALID_ARG_TYPE' });
});
