// kqueue-console/server's sessions through their protocol: the seam of a
// reattach under a flood (no byte lost or repeated), a viewer that stops
// reading (cut over to a fresh snapshot, never slowing the program), the
// token on a port, hostile HELLOs, and attach/detach cycles with fds flat.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import {
  attachSession,
  frame,
  serveSessions,
  type Address,
  type SessionClient,
  type SessionServer,
  type SessionServerOptions,
} from '../src/server';
import { noFdOpenedSince, openFdLinks } from './helpers/fds';
import { scaled } from './helpers/scale';
import { settles, waitUntil } from './helpers/wait';

async function server(
  t: Test,
  options: Partial<SessionServerOptions> & { command: string },
): Promise<SessionServer & { readonly address: Address }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kqc-sessions-'));
  const s = await serveSessions({ listen: { path: path.join(dir, 's.sock') }, lingerMs: 60_000, ...options });
  t.teardown(async () => {
    await s.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return s;
}

/** What one client saw: the snapshots and the output, each byte checked against its sequence number. */
class Seen {
  screens = 0;
  bytes = 0;
  end = 0;
  bad: string | null = null;
  constructor(private readonly expected: (seq: number) => number) {}
  screen = (_s: string, _size: unknown, seq: number): void => {
    this.screens++;
    this.end = seq;
  };
  output = (chunk: Buffer, seq: number): void => {
    for (let i = 0; i < chunk.length && this.bad === null; i++) {
      if (chunk[i] !== this.expected(seq + i)) this.bad = `byte ${seq + i} is ${chunk[i]}`;
    }
    this.bytes += chunk.length;
    this.end = seq + chunk.length;
  };
}

const yes = (seq: number): number => (seq % 2 === 0 ? 0x79 : 0x0a);

function closed(client: SessionClient): Promise<Error | undefined> {
  return new Promise((resolve) => client.once('close', resolve));
}

t.test('a flood across detach and reattach: every byte after the snapshot is the program’s, none lost, none twice', async (t) => {
  const total = scaled(50_000_000) & ~1;
  const s = await server(t, { command: 'sh', args: ['-c', `stty raw -echo; yes | head -c ${total}`] });
  const first = new Seen(yes);
  const a = await attachSession(s.address, { session: 'flood' }, first);
  await waitUntil('the first client to get 1 MB', () => first.bytes > 1_000_000, { ms: 30_000 });
  const gone = closed(a.client);
  a.client.close();
  t.equal(await settles('the first client to close', gone), undefined, 'a clean detach');
  const second = new Seen(yes);
  let exit: [number | null, string | null] | null = null;
  const b = await attachSession(
    s.address,
    { session: 'flood' },
    { ...second, screen: second.screen, output: second.output, exit: (c, sig) => (exit = [c, sig]) },
  );
  t.equal(b.welcome.name, 'flood', 'the same session');
  t.equal(await settles('the flood to end', closed(b.client), 120_000), undefined, 'no seam error (ERR_PROTOCOL)');
  t.equal(second.bad, null, 'every byte is where the program put it');
  t.equal(second.screens, 1, 'one snapshot');
  t.equal(second.end, total, 'the last byte is the program’s last');
  t.same(exit, [0, null], 'and the exit was told');
});

t.test('a viewer that stops reading: the program is not slowed; it gets a fresh snapshot when it reads again', async (t) => {
  const total = scaled(40_000_000) & ~1;
  // The "y\n" says echo is off (and keeps yes's pattern): input typed before stty would echo.
  const s = await server(t, { command: 'sh', args: ['-c', `stty raw -echo; printf 'y\\n'; read go; yes | head -c ${total}; read done`] });
  const writer = new Seen(yes);
  const w = await attachSession(s.address, { session: 'v' }, writer);
  const viewer = new Seen(yes);
  const v = await attachSession(s.address, { session: 'v', readOnly: true }, viewer);
  t.equal(v.welcome.role, 'viewer');
  await waitUntil('the viewer’s first snapshot', () => viewer.screens === 1);
  await waitUntil('the program to turn echo off', () => writer.end >= 2);
  v.client.pause();
  w.client.write('go\n');
  await waitUntil('the writer to get all the output while the viewer reads nothing', () => writer.end >= total + 2, { ms: 120_000 });
  t.equal(writer.bad, null);
  v.client.resume();
  await waitUntil('the viewer to be cut over to a second snapshot and catch up', () => viewer.screens >= 2 && viewer.end >= total + 2, {
    ms: 60_000,
  });
  t.equal(viewer.bad, null, 'what it got after each snapshot is the program’s');
  t.ok(viewer.bytes < total, `the viewer skipped what it missed (${viewer.bytes} of ${total} bytes sent to it)`);
  w.client.write('\n');
  await settles('the session to end', closed(w.client));
});

t.test('on a port: the token’s proof first; a wrong token gets nothing of a session', async (t) => {
  const s = await serveSessions({ command: 'sh', args: ['-c', 'echo on-a-port; sleep 30'], listen: { port: 0 } });
  t.teardown(() => s.close());
  await t.rejects(attachSession(s.address, { token: 'wrong' }, new Seen(() => 0)), { code: 'ERR_PROTOCOL' });
  t.same(s.list(), [], 'no session was started');
  let text = '';
  const a = await attachSession(s.address, { token: s.token }, { screen: (x) => (text += x), output: (c) => (text += c) });
  await waitUntil('the program’s output', () => text.includes('on-a-port'));
  a.client.close();
});

t.test('close(): a connection open before it starts no session, and no program outlives the server', async (t) => {
  const lines: string[] = [];
  // A program that ignores SIGHUP keeps close() waiting for the hang-up's grace.
  const s = await server(t, { command: 'sh', args: ['-c', 'trap "" HUP; echo up; sleep 60'], log: (l) => lines.push(l) });
  let text = '';
  const first = await attachSession(s.address, {}, { screen: (x) => (text += x), output: (c) => (text += c) });
  await waitUntil('the first session’s program', () => text.includes('up'));
  const late = net.connect((s.address as { path: string }).path);
  t.teardown(() => late.destroy());
  await settles('the late connection', new Promise((r) => late.once('connect', r)));
  let got = Buffer.alloc(0);
  late.on('data', (d: Buffer) => (got = Buffer.concat([got, d])));
  const lateClosed = new Promise((r) => late.once('close', r));
  const closing = s.close();
  late.write(frame(4, Buffer.from(JSON.stringify({ op: 'attach', new: true }))));
  await settles('close()', closing, 30_000);
  await settles('the late connection to be closed', lateClosed);
  const pids = [...lines.join('\n').matchAll(/started: pid (\d+)/g)].map((m) => Number(m[1]));
  t.equal(pids.length, 1, `one session started: ${JSON.stringify(lines)}`);
  t.ok(got.length === 0 || got[0] === 21, 'the late HELLO was refused, or the connection dropped');
  t.same(
    pids.filter((pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    }),
    [],
    'no session’s program is left running',
  );
  first.client.close();
});

t.test('hostile first frames: refused with a code or dropped, the server unharmed', async (t) => {
  const s = await server(t, { command: 'sh', args: ['-c', 'sleep 30'], maxSessions: 2 });
  const address = s.address as { path: string };
  const junk = [
    frame(4, Buffer.from('not json')),
    frame(4, Buffer.from('{"op":"attach","session":"../../etc"}')),
    frame(4, Buffer.from('{"op":"attach","size":{"rows":0,"cols":1e9}}')),
    frame(4, Buffer.from('{"op":"attach","readOnly":"yes"}')),
    frame(2, Buffer.from('data before hello')),
    Buffer.from([4, 0xff, 0xff, 0xff, 0xff]),
  ];
  for (const bytes of junk) {
    const sock = net.connect(address.path);
    sock.write(bytes);
    let got = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => (got = Buffer.concat([got, d])));
    await settles('the server to close the connection', new Promise((r) => sock.on('close', r)));
    t.ok(got.length === 0 || got[0] === 21, `${JSON.stringify(bytes.subarray(5).toString().slice(0, 40))}: refused or dropped`);
  }
  t.same(s.list(), [], 'no session was started');
  await t.rejects(attachSession(s.address, { session: '0123456789abcdef0123456789abcdef' }, new Seen(() => 0)), { code: 'ERR_NO_SESSION' });
  await t.rejects(attachSession(s.address, { readOnly: true }, new Seen(() => 0)), { code: 'ERR_NO_SESSION' });
  const kept: SessionClient[] = [];
  for (let i = 0; i < 2; i++) kept.push((await attachSession(s.address, { new: true }, new Seen(() => 0))).client);
  await t.rejects(attachSession(s.address, { new: true }, new Seen(() => 0)), { code: 'ERR_SESSIONS_FULL' });
  for (const c of kept) c.close();
});

t.test('attach and detach again and again: fds and sessions flat', async (t) => {
  const cycles = scaled(1000);
  const s = await server(t, { command: 'sh', args: ['-c', 'echo ready; sleep 60'] });
  const warm = await attachSession(s.address, { session: 'c' }, { screen: () => {}, output: () => {} });
  const gone = closed(warm.client);
  warm.client.close();
  await gone;
  const before = openFdLinks();
  for (let i = 0; i < cycles; i++) {
    let screens = 0;
    const a = await attachSession(s.address, { session: 'c' }, { screen: () => screens++, output: () => {} });
    await waitUntil(`cycle ${i}: the snapshot`, () => screens === 1);
    const done = closed(a.client);
    a.client.close();
    await done;
  }
  await waitUntil('the server to see the last client go', () => s.list()[0]?.viewers === 0 && !s.list()[0]?.writer);
  t.equal(s.list().length, 1, `${cycles} cycles, one session`);
  noFdOpenedSince(t, before, 'no fd left open');
});

t.test('a viewer that writes anyway: its input and sizes never reach the program', async (t) => {
  const s = await server(t, { command: 'sh', args: ['-c', 'stty -echo; while read line; do echo "got $line $(stty size)"; done'] });
  let seen = '';
  const writer = await attachSession(
    s.address,
    { session: 'w', size: { rows: 30, cols: 90 } },
    { screen: () => {}, output: (c) => (seen += c) },
  );
  const viewer = await attachSession(s.address, { session: 'w', readOnly: true }, { screen: () => {}, output: () => {} });
  t.equal(viewer.welcome.role, 'viewer');
  viewer.client.resize({ rows: 10, cols: 20 });
  viewer.client.write('from-the-viewer\n');
  // Sent after the viewer's: had the viewer's been taken, it would come back first.
  writer.client.write('marker\n');
  await waitUntil('the writer’s line to come back', () => seen.includes('got marker'));
  t.notMatch(seen, /from-the-viewer/, 'the viewer’s input was dropped');
  t.match(seen, /got marker 30 90/, 'the size is the writer’s');
  viewer.client.close();
  writer.client.close();
});
