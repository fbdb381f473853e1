// Backpressure both ways, end to end: a paused consumer stops the reads and
// blocks the child in write(); a slave nobody reads makes write() say false
// until 'drain'.
import t from 'tap';
import { SYS_WRITE, blockedSyscall, collect, exitCode, memoryFiguresUnreliable, rss, spawnOnSlave } from './helpers/pty';
import { kqueuerFor, ptyFor, waitUntil, within } from './helpers/fixtures';

t.test('read backpressure: a paused consumer blocks the child; resumed, every byte arrives', async (t) => {
  const kq = kqueuerFor(t);
  const { master, slave } = ptyFor(t);
  slave.setRaw({ opost: false });
  const con = kq.add(master);
  const size = 64 * 1024 * 1024;
  const rssBefore = rss();
  const out = collect(con);
  const child = spawnOnSlave(slave.fd, 'head', ['-c', String(size), '/dev/zero']);
  slave.close();
  await waitUntil('out.bytes() >= 1024 * 1024', () => out.bytes() >= 1024 * 1024, { on: con });
  con.pause();
  const atPause = out.bytes();

  await waitUntil('the paused stream fills to its high-water mark', () => con.readableLength >= con.readableHighWaterMark);
  t.pass('the paused stream fills to its high-water mark');
  await waitUntil('then the child is blocked in write()', () => blockedSyscall(child.pid!) === SYS_WRITE);
  t.pass('then the child is blocked in write()');
  t.equal(child.exitCode, null, 'the child has not finished');
  t.equal(out.bytes(), atPause, "no 'data' while paused");
  t.ok(
    con.readableLength < con.readableHighWaterMark + 64 * 1024,
    `and stops there: ${con.readableLength} bytes buffered (high-water mark plus at most one read)`,
  );
  // Stalled: the buffer is full and the child blocked. Memory must stay put.
  const rssStalled = rss();
  await new Promise((r) => setTimeout(r, 1000)); // A measurement window, not a wait for an event.
  const growth = rss() - rssStalled;
  const overall = rss() - rssBefore;
  const unreliable = memoryFiguresUnreliable();
  const mib = (n: number): string => (n / 1048576).toFixed(2);
  if (unreliable) t.pass(`RSS growth (${mib(growth)} MiB) not judged`, { skip: unreliable });
  else {
    t.ok(growth < 1024 * 1024, `RSS grew ${mib(growth)} MiB in 1 s of stall, with ${size / 1048576} MiB on offer`);
    t.ok(overall < 16 * 1024 * 1024, `and ${mib(overall)} MiB over the RSS before the child started`);
  }

  con.resume();
  await waitUntil('out.bytes() >= size', () => out.bytes() >= size, { on: con });
  t.equal(await exitCode(child), 0, 'the child finished');
  t.equal(out.bytes(), size, 'every byte arrived');
  t.ok(
    out.buffer().every((b) => b === 0),
    'and they are the bytes written',
  );
  await con.shutdown();
  await con.close();
});

t.test("write backpressure: write() says false while nobody reads the slave; 'drain' follows once it is read", async (t) => {
  const kq = kqueuerFor(t);
  const { master, slave } = ptyFor(t);
  slave.setRaw({ opost: false });
  const con = kq.add(master);
  const chunk = Buffer.alloc(16 * 1024, 'w');
  let accepted = 0;
  let more = true;
  while (more && accepted < 64 * 1024 * 1024) {
    more = con.write(chunk);
    accepted += chunk.length;
  }
  t.notOk(more, 'write() returned false');
  t.ok(accepted <= 1024 * 1024, `after ${accepted} bytes: the kernel's buffer and the high-water mark, no more`);
  const drained = within('con: drain', con, 'drain');

  // Now read the slave, through a console of its own.
  const reader = kq.add(slave);
  const out = collect(reader);
  await drained;
  t.pass("'drain' was emitted once the slave was read");
  await waitUntil('out.bytes() >= accepted', () => out.bytes() >= accepted, { on: reader });
  t.equal(out.bytes(), accepted, 'every byte written reached the slave');
  t.ok(
    out.buffer().every((b) => b === 0x77),
    'unchanged',
  );

  await con.shutdown();
  await reader.shutdown();
  await con.close();
  await reader.close();
});
