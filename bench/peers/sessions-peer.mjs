// One run of a lingering-session workload (kqueue-console/server), in a
// process of its own (node --expose-gc):
//   node --expose-gc sessions-peer.mjs <peer> <W11|W12|W13> '{"count": N, "scrollback": S, ...}'
//
// Each session's program fills a 200×50 screen and S lines of scrollback
// with coloured 200-column lines (each cell with a colour, as `ls --color`
// or a build log has them), then sleeps: a full screen, as #34 sizes it.
//
//   W11, memory per lingering session: N sessions filled and detached;
//     the RSS (after a collection) over N, and the snapshot's bytes. Peers:
//     "session", and "xterm alone": a bare @xterm/headless Terminal of the
//     same size and scrollback fed the same bytes, the floor a screen costs.
//   W12, reattach to a full screen: `attaches` times, the ms from the
//     attach to the snapshot written to a fresh @xterm/headless terminal
//     (what a client shows); p50 and p95. Server and client in this process.
//   W13, attach/detach cycles: `cycles` of attach, snapshot, detach; the
//     fds, memory held and RSS before and after (after a warm-up cycle and
//     a collection), and the RSS added in the second half alone: what V8
//     and the allocator keep once warm is not growth per cycle.
// Prints one JSON line.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const root = new URL('../../', import.meta.url).pathname;
const { serveSessions, attachSession } = require(`${root}dist/server/index.js`);
const { Terminal } = require('@xterm/headless');
const [peer, workload, json] = process.argv.slice(2);
const opt = JSON.parse(json ?? '{}');
const SIZE = { rows: 50, cols: 200 };

/** The program: rows + scrollback coloured lines of 200 columns, then sleep. */
function filler(lines) {
  const awk = `BEGIN { for (i = 0; i < ${lines}; i++) { s = ""; for (c = 0; c < 20; c++) s = s sprintf("\\033[3%dm%010d", (i + c) % 8, i); printf "%s\\033[0m\\r\\n", s } }`;
  return ['sh', ['-c', `stty raw -echo; awk '${awk}'; exec sleep 600`]];
}

function gcRss() {
  globalThis.gc();
  globalThis.gc();
  return process.memoryUsage.rss();
}

/** The JavaScript heap and the memory outside it (Buffers, typed arrays) in use, after a collection. */
function gcHeld() {
  globalThis.gc();
  globalThis.gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

const fds = () => fs.readdirSync('/proc/self/fd').length;

async function withServer(scrollback, fn) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kqc-bench-sessions-'));
  const [command, args] = filler(SIZE.rows + scrollback);
  const server = await serveSessions({ command, args, listen: { path: path.join(dir, 's.sock') }, scrollback, maxSessions: 1 << 12 });
  try {
    return await fn(server);
  } finally {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Attaches to `session` (making it at this size when new), waits for the snapshot; returns its text and the ms it took. */
async function snapshotOf(server, session) {
  const t0 = performance.now();
  let screen = null;
  let got;
  const arrived = new Promise((resolve) => (got = resolve));
  const { client } = await attachSession(server.address, { session, size: SIZE }, { screen: (s) => got((screen = s)), output: () => {} });
  await arrived;
  const ms = performance.now() - t0;
  const closed = new Promise((resolve) => client.once('close', resolve));
  client.close();
  await closed;
  return { screen, ms };
}

/**
 * Waits until the session's program (filler()) has written all its lines:
 * the screen shows the last line's number in each of its 20 fields. Polled
 * (nothing says when a program has written its last line), 60 s at most.
 */
async function filled(server, name, scrollback) {
  const last = String(SIZE.rows + scrollback - 1).padStart(10, '0');
  const deadline = performance.now() + 60_000;
  for (;;) {
    const { screen } = await snapshotOf(server, name);
    if (screen.split(last).length - 1 >= 20) return screen;
    if (performance.now() > deadline) throw new Error(`session ${name}: its program did not write line ${last} in 60 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function w11() {
  const { count, scrollback } = opt;
  if (peer === 'xterm alone') {
    const before = gcRss();
    const held = gcHeld();
    const terms = [];
    const [, args] = filler(SIZE.rows + scrollback);
    const { execFileSync } = await import('node:child_process');
    const bytes = execFileSync('sh', ['-c', args[1].replace('stty raw -echo; ', '').replace('; exec sleep 600', '')]);
    for (let i = 0; i < count; i++) {
      const term = new Terminal({ ...SIZE, scrollback, allowProposedApi: true });
      await new Promise((r) => term.write(bytes, r));
      terms.push(term);
    }
    return { count, scrollback, rssPerSession: (gcRss() - before) / count, heldPerSession: (gcHeld() - held) / count, terms: terms.length };
  }
  return withServer(scrollback, async (server) => {
    const before = gcRss();
    const held = gcHeld();
    let snapshotBytes = 0;
    for (let i = 0; i < count; i++) snapshotBytes = Buffer.byteLength(await filled(server, `s${i}`, scrollback));
    const rss = gcRss();
    return {
      count,
      scrollback,
      rssPerSession: (rss - before) / count,
      heldPerSession: (gcHeld() - held) / count,
      snapshotBytes,
      sessions: server.list().length,
    };
  });
}

async function w12() {
  const { attaches, scrollback } = opt;
  return withServer(scrollback, async (server) => {
    await filled(server, 'full', scrollback);
    const times = [];
    for (let i = 0; i < attaches; i++) {
      const { screen, ms } = await snapshotOf(server, 'full');
      const t0 = performance.now();
      const term = new Terminal({ ...SIZE, scrollback, allowProposedApi: true });
      await new Promise((r) => term.write(screen, r));
      term.dispose();
      times.push(ms + performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    return { attaches, scrollback, p50: times[Math.floor(times.length / 2)], p95: times[Math.floor(times.length * 0.95)] };
  });
}

async function w13() {
  const { cycles, scrollback } = opt;
  return withServer(scrollback, async (server) => {
    await filled(server, 'c', scrollback);
    const fdsBefore = fds();
    const rssBefore = gcRss();
    const heldBefore = gcHeld();
    let rssHalfway = rssBefore;
    for (let i = 0; i < cycles; i++) {
      await snapshotOf(server, 'c');
      if (i === (cycles >> 1) - 1) rssHalfway = gcRss();
    }
    const rssAfter = gcRss();
    return {
      cycles,
      scrollback,
      fdsBefore,
      fdsAfter: fds(),
      rssGrowth: rssAfter - rssBefore,
      rssGrowthSecondHalf: rssAfter - rssHalfway,
      heldGrowth: gcHeld() - heldBefore,
    };
  });
}

const run = { W11: w11, W12: w12, W13: w13 }[workload];
run().then(
  (r) => {
    console.log(JSON.stringify(r));
    process.exit(0);
  },
  (err) => {
    console.log(JSON.stringify({ error: err.stack }));
    process.exit(1);
  },
);
