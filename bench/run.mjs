#!/usr/bin/env node
// The benchmark harness (bench/README.md): every peer, side by side in one run,
// interleaved (A B C A B C ...), in two conditions (idle, and with N
// low-priority busy loops beside it), reported as medians with min–max and as
// ratios to the best. Byte counts and checksums are verified before a speed
// is reported. Raw figures go to bench/results/*.json, a chart to *.svg.
//
//   node bench/run.mjs [--quick] [--reps N] [--spinners N] [--workloads W1,W2]
//                      [--peers kqueue-console,node-pty,...] [--baseline DIR]
//
// --baseline DIR: another built checkout (a git worktree of an earlier
// commit, after npm ci); its kqueue-console joins W1 and W2 as
// 'kqueue-console (baseline)', for before/after pairs in one run.
// --quick: small sizes, one repetition, idle only: correctness checks (the
// smoke run of npm test). Exit code 1 if kqueue-console lost a byte or a run failed.
// --instructions: W1 and W2 counted in instructions under callgrind instead
// (bench/instructions.mjs, which takes the rest of the arguments).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(here);
const build = path.join(here, '.build');
const resultsDir = path.join(here, 'results');

const args = process.argv.slice(2);
if (args.includes('--instructions')) {
  await import('./instructions.mjs');
  process.exit(process.exitCode ?? 0);
}
const flag = (name) => args.includes(`--${name}`);
const value = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const quick = flag('quick');
const reps = Number(value('reps', quick ? 1 : 5));
const spinners = Number(value('spinners', quick ? 0 : 1));
const MiB = 1024 * 1024;
const sizes = quick
  ? {
      w1: 8 * MiB,
      w2: 300,
      w3: 8 * MiB,
      w4: 8 * MiB,
      w5count: 16,
      w5small: 4,
      w5each: 256 * 1024,
      w6idle: 0.3,
      w7: 20,
      w8: 64 * 1024,
      w9: 100_000,
      w10: 20,
      w11count: 2,
      scrollback: 200,
      longScrollback: 2000,
      w12: 5,
      w13: 20,
    }
  : {
      w1: 256 * MiB,
      w2: 20000,
      w3: 256 * MiB,
      w4: 256 * MiB,
      w5count: 256,
      w5small: 64,
      w5each: 4 * MiB,
      w6idle: 2,
      w7: 200,
      w8: MiB,
      w9: 3_100_000,
      w10: 300,
      w11count: 10,
      scrollback: 1000,
      longScrollback: 10_000,
      w12: 50,
      w13: 1000,
    };
const workloads = value('workloads', 'W1,W2,W3,W4,W5,W6,W7,W8,W9,W10,W11,W12,W13').split(',');
const peerFilter = value('peers', null)?.split(',');
// Another checkout of the project, built (npm ci): its kqueue-console runs as
// the peer 'kqueue-console (baseline)' beside this tree's, interleaved in the
// same run, for a before/after pair that shares the machine's conditions.
const baseline = value('baseline', null);

fs.mkdirSync(build, { recursive: true });
fs.mkdirSync(resultsDir, { recursive: true });

// ---- Peers ------------------------------------------------------------------
const skipped = {};
const limit = path.join(build, 'limit');
try {
  execFileSync('cc', ['-O2', '-o', limit, path.join(here, 'peers', 'limit.c')], { stdio: 'pipe', timeout: 120_000 });
} catch (err) {
  skipped['C limit'] = `cc failed: ${String(err.stderr ?? err).trim()}`;
}
const goPeer = path.join(build, 'go-peer');
const gopath = '/usr/share/gocode';
if (spawnSync('go', ['version'], { timeout: 60_000 }).status !== 0) {
  skipped['go-epollconsole'] = 'no Go toolchain (Debian package golang-go)';
} else if (!fs.existsSync(path.join(gopath, 'src/github.com/containerd/console'))) {
  skipped['go-epollconsole'] = 'containerd/console sources absent (Debian package golang-github-containerd-console-dev)';
} else {
  const r = spawnSync('go', ['build', '-o', goPeer, 'main.go'], {
    cwd: path.join(here, 'peers', 'go'),
    env: { ...process.env, GO111MODULE: 'off', GOPATH: gopath, GOFLAGS: '', GOCACHE: path.join(build, 'gocache') },
    encoding: 'utf8',
    timeout: 600_000,
  });
  if (r.status !== 0) skipped['go-epollconsole'] = `go build failed: ${r.stderr.trim()}`;
}
if (!fs.existsSync(path.join(root, 'node_modules', 'node-pty'))) skipped['node-pty'] = 'node-pty is not installed';
if (!fs.existsSync(path.join(root, 'dist', 'index.js'))) {
  console.error('dist/ is missing: run npm run build first');
  process.exit(1);
}

const nodePeer =
  (peer, dir = here) =>
  (w, opt) => [process.execPath, [path.join(dir, 'peers', 'node-peer.mjs'), peer, w, JSON.stringify(opt)]];
const PEERS = {
  'C limit (blocking)': {
    ok: !skipped['C limit'],
    cmd: (w, o) => [limit, [w, 'blocking', String(o.file ?? o.trips ?? o.size)], o.out ? { LIMIT_OUT: o.out } : {}],
  },
  'C limit (epoll ET)': {
    ok: !skipped['C limit'],
    cmd: (w, o) => [limit, [w, 'epoll', String(o.file ?? o.trips ?? o.size)], o.out ? { LIMIT_OUT: o.out } : {}],
  },
  'go-epollconsole': {
    ok: !skipped['go-epollconsole'],
    cmd: (w, o) => [goPeer, [w, String(o.file ?? o.trips)], o.out ? { LIMIT_OUT: o.out } : {}],
  },
  'node-pty': { ok: !skipped['node-pty'], cmd: nodePeer('node-pty') },
  'node-tty': { ok: true, cmd: nodePeer('node-tty') },
  'kqueue-console': { ok: true, cmd: nodePeer('kqueue-console') },
  // The same, woken by the waiter thread (what libkqueue's kqueue needs).
  'kqueue-console (thread)': { ok: true, cmd: (w, o) => [...nodePeer('kqueue-console')(w, o), { KQUEUE_CONSOLE_WAKEUP: 'thread' }] },
  // The same, the waiter thread handing over through a Node-API thread-safe function (Bun's and Deno's mode).
  'kqueue-console (tsfn)': { ok: true, cmd: (w, o) => [...nodePeer('kqueue-console')(w, o), { KQUEUE_CONSOLE_WAKEUP: 'tsfn' }] },
  // The floor under our streams: the addon's kqueue, read(2) and write(2) from its callback, no stream.
  'addon alone': { ok: true, cmd: nodePeer('addon alone') },
  // The floor under each of the other wake-up modes.
  'addon alone (thread)': { ok: true, cmd: (w, o) => [...nodePeer('addon alone')(w, o), { KQUEUE_CONSOLE_WAKEUP: 'thread' }] },
  'addon alone (tsfn)': { ok: true, cmd: (w, o) => [...nodePeer('addon alone')(w, o), { KQUEUE_CONSOLE_WAKEUP: 'tsfn' }] },
  // The same readers with their onread option: reads into buffers the consumer reuses.
  'node-tty (onread)': { ok: true, cmd: nodePeer('node-tty (onread)') },
  'kqueue-console (onread)': { ok: true, cmd: nodePeer('kqueue-console (onread)') },
  // child_process.spawn() on an openPty() slave, read by a Kqueuer (W7).
  child_process: { ok: true, cmd: nodePeer('child_process') },
  // The examples that serve a shell, as their users start them (W8).
  'web-terminal': {
    ok: true,
    cmd: (w, o) => [process.execPath, [path.join(here, 'peers', 'flood-peer.mjs'), 'web-terminal', w, JSON.stringify(o)]],
  },
  'kqueue-console serve': {
    ok: true,
    cmd: (w, o) => [process.execPath, [path.join(here, 'peers', 'flood-peer.mjs'), 'kqueue-console serve', w, JSON.stringify(o)]],
  },
  // The harness on 25 MB (W9), and the screen's parser fed by spawn() alone.
  ...Object.fromEntries(
    [
      'harness expect',
      'harness waitFor',
      'xterm alone',
      'harness run()',
      'harness expect (marked prompt)',
      'harness expect (plain prompt)',
    ].map((peer) => [
      peer,
      { ok: true, cmd: (w, o) => [process.execPath, [path.join(here, 'peers', 'harness-peer.mjs'), peer, w, JSON.stringify(o)]] },
    ]),
  ),
  // Lingering sessions (W11-W13): a 200x50 screen with `scrollback` or `longScrollback` lines, and
  // the same bytes in a bare @xterm/headless Terminal, the floor a screen costs.
  ...Object.fromEntries(
    [
      ['session', 'session', 'scrollback'],
      ['session (long scrollback)', 'session', 'longScrollback'],
      ['xterm alone (the same screen)', 'xterm alone', 'scrollback'],
    ].map(([name, peer, lines]) => [
      name,
      {
        ok: true,
        cmd: (w, o) => [
          process.execPath,
          ['--expose-gc', path.join(here, 'peers', 'sessions-peer.mjs'), peer, w, JSON.stringify({ ...o, scrollback: sizes[lines] })],
        ],
      },
    ]),
  ),
};
// W1 and W2: every reader, and each wake-up mode of kqueue-console and of the addon alone.
const ALL_READERS = [
  'C limit (blocking)',
  'C limit (epoll ET)',
  'go-epollconsole',
  'node-pty',
  'node-tty',
  'kqueue-console',
  'kqueue-console (thread)',
  'kqueue-console (tsfn)',
  'addon alone',
  'addon alone (thread)',
  'addon alone (tsfn)',
];
if (baseline !== null) {
  const dir = path.join(path.resolve(baseline), 'bench');
  if (!fs.existsSync(path.join(dir, 'peers', 'node-peer.mjs'))) {
    console.error(`--baseline ${baseline}: no bench/peers/node-peer.mjs there`);
    process.exit(1);
  }
  PEERS['kqueue-console (baseline)'] = { ok: true, cmd: nodePeer('kqueue-console', dir) };
  ALL_READERS.push('kqueue-console (baseline)');
}
const PLAN = {
  W1: ALL_READERS,
  W2: ALL_READERS,
  W3: ['node-pty', 'node-tty', 'kqueue-console', 'node-tty (onread)', 'kqueue-console (onread)'],
  // node-tty cannot take W4: Node's tty streams cannot read (for the child's
  // ready marker) and write one fd through two handles.
  W4: ['C limit (blocking)', 'node-pty', 'kqueue-console'],
  W5: ['node-pty', 'node-tty', 'kqueue-console', 'node-tty (onread)', 'kqueue-console (onread)'],
  W6: ['node-tty', 'kqueue-console'],
  W7: ['node-pty', 'child_process', 'kqueue-console'],
  W8: ['web-terminal', 'kqueue-console serve'],
  W9: ['harness expect', 'harness waitFor', 'xterm alone'],
  W10: ['harness expect (plain prompt)', 'harness expect (marked prompt)', 'harness run()'],
  W11: ['session', 'xterm alone (the same screen)', 'session (long scrollback)'],
  W12: ['session', 'session (long scrollback)'],
  W13: ['session'],
};

// ---- Payloads -----------------------------------------------------------------
function payload(size) {
  const file = path.join(build, `payload-${size}`);
  if (!fs.existsSync(file) || fs.statSync(file).size !== size) {
    const fd = fs.openSync(file, 'w');
    for (let left = size; left > 0; left -= MiB) fs.writeSync(fd, randomBytes(Math.min(MiB, left)));
    fs.closeSync(fd);
  }
  const sha = createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  return { file, size, sha };
}

function run(peerName, w, opt) {
  const [cmd, argv, env = {}] = PEERS[peerName].cmd(w, opt);
  const r = spawnSync(cmd, argv, { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 600_000, maxBuffer: 1 << 20 });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line);
  } catch {
    return { error: `exit ${r.status}: ${r.stderr.trim().slice(0, 300) || line}` };
  }
}

/**
 * W5 again with a quarter of the consoles, right after the full run: the RSS
 * between the two, over the consoles between them, is what each added
 * console costs, apart from what the process pays once whatever the count
 * (the warm JIT, V8's young ArrayBuffers awaiting the collector). Bytes lost
 * in this run count as lost in the full one.
 */
function w5Small(p, r) {
  const small = run(p, 'W5', { ...options.W5, count: sizes.w5small });
  const lost = small.bytes === undefined ? undefined : sizes.w5small * sizes.w5each - small.bytes;
  r.small = { count: sizes.w5small, rssPerConsole: small.rssPerConsole, bytes: small.bytes, lost, error: small.error };
  if (small.error) r.error = `with ${sizes.w5small} consoles: ${small.error}`;
  else {
    r.rssPerAddedConsole = (r.rssPerConsole * sizes.w5count - small.rssPerConsole * sizes.w5small) / (sizes.w5count - sizes.w5small);
    if (lost) r.lost = (r.lost ?? 0) + lost;
  }
}

function startSpinners(n) {
  return Array.from({ length: n }, () => spawn('nice', ['-n', '19', process.execPath, '-e', 'for(;;){}'], { stdio: 'ignore' }));
}

// ---- The run ---------------------------------------------------------------------
const conditions = spinners > 0 ? ['idle', `spinners ${spinners}`] : ['idle'];
const raw = { date: new Date().toISOString(), quick, reps, sizes, skipped, runs: [] };
let failures = 0;
for (const [k, why] of Object.entries(skipped)) console.log(`skipped: ${k}: ${why}`);

const w1p = workloads.includes('W1') ? payload(sizes.w1) : null;
const w3p = workloads.includes('W3') ? (sizes.w3 === sizes.w1 && w1p ? w1p : payload(sizes.w3)) : null;
const options = {
  W1: { file: w1p?.file },
  W2: { trips: sizes.w2 },
  W3: { file: w3p?.file },
  W4: { size: sizes.w4 },
  W5: { count: sizes.w5count, each: sizes.w5each },
  W6: { idle: sizes.w6idle },
  W7: { count: sizes.w7 },
  W8: { size: sizes.w8 },
  W9: { lines: sizes.w9 },
  W10: { trips: sizes.w10 },
  W11: { count: sizes.w11count },
  W12: { attaches: sizes.w12 },
  W13: { cycles: sizes.w13 },
};
const expected = { W1: sizes.w1, W3: sizes.w3, W4: sizes.w4, W5: sizes.w5count * sizes.w5each, W8: sizes.w8 };

for (const condition of conditions) {
  const spin = condition === 'idle' ? [] : startSpinners(spinners);
  try {
    for (const w of workloads) {
      const peers = PLAN[w].filter((p) => PEERS[p].ok && (!peerFilter || peerFilter.some((f) => p.startsWith(f))));
      // Verification first: every byte and, for W1/W3, its checksum.
      const verified = {};
      for (const p of peers) {
        if (w !== 'W1' && w !== 'W3') {
          verified[p] = true;
          continue;
        }
        if (w === 'W3' && !p.startsWith('kqueue') && !p.startsWith('node')) continue;
        const out = path.join(build, `verify-${process.pid}`);
        const r = run(p, w, { ...options[w], out });
        let ok = !r.error && r.bytes === expected[w];
        if (ok) ok = createHash('sha256').update(fs.readFileSync(out)).digest('hex') === (w === 'W1' ? w1p : w3p).sha;
        fs.rmSync(out, { force: true });
        verified[p] = ok;
        // Ours must deliver every byte, unchanged; a peer that loses some is reported as such.
        if (!ok && p.startsWith('kqueue-console')) {
          failures++;
          console.log(`${w} ${p}: the verification run ${r.error ? `failed: ${r.error}` : 'delivered wrong bytes (count or checksum)'}`);
        }
        raw.runs.push({ condition, workload: w, peer: p, verification: true, ok, ...r });
      }
      for (let rep = 0; rep < reps; rep++) {
        for (const p of peers) {
          const r = run(p, w, options[w]);
          // W8's and W9's peers are this project's examples and harness.
          const ours = p.startsWith('kqueue-console') || ['W8', 'W9', 'W10', 'W11', 'W12', 'W13'].includes(w);
          if (r.bytes !== undefined && expected[w] !== undefined) r.lost = expected[w] - r.bytes;
          if (w === 'W5' && !r.error && !r.skipped) w5Small(p, r);
          if (r.error && ours) failures++;
          if (ours && r.lost) failures++;
          if (ours && w === 'W6' && !r.arrivedAfterReopen) failures++;
          raw.runs.push({ condition, workload: w, peer: p, rep, verified: verified[p], ...r });
          process.stderr.write('.');
        }
      }
    }
  } finally {
    for (const s of spin) s.kill('SIGKILL');
  }
}
process.stderr.write('\n');

// ---- Report --------------------------------------------------------------------
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};
/** The timed runs of one workload, condition and peer (not the verification run). */
const timedRuns = (w, condition, peer) =>
  raw.runs.filter((r) => r.workload === w && r.condition === condition && r.peer === peer && !r.verification);
/** A run that lost bytes, or whose peer's verification run did. */
const lostBytes = (r) => (r.lost ?? 0) > 0 || r.verified === false;
const METRICS = {
  W1: [
    ['MB/s', (r) => r.bytes / r.seconds / 1e6, 'high'],
    ['CPU s/GiB', (r) => (r.cpuSeconds / r.bytes) * 2 ** 30, 'low'],
  ],
  W2: [
    ['p50 µs', (r) => r.p50, 'low'],
    ['p99 µs', (r) => r.p99, 'low'],
    ['CPU µs/RT', (r) => r.cpuUsPerTrip, 'low'],
  ],
  W3: [
    ['RSS growth MiB', (r) => r.rssGrowth / MiB, 'low', 'memory'],
    ['of it file-backed MiB', (r) => (r.fileBackedGrowth ?? NaN) / MiB, 'low', 'memory'],
    ['peak ArrayBuffer MiB', (r) => r.peakArrayBuffers / MiB, 'low', 'memory'],
    ['JIT warm-up paged in MiB (before the baseline)', (r) => (r.warmUpFileBacked ?? NaN) / MiB, 'low', 'memory'],
    ['MB/s', (r) => r.bytes / r.seconds / 1e6, 'high'],
  ],
  W4: [
    ['MB/s', (r) => r.bytes / r.seconds / 1e6, 'high'],
    ['CPU s/GiB', (r) => (r.cpuSeconds / r.bytes) * 2 ** 30, 'low'],
  ],
  W5: [
    ['MB/s', (r) => r.bytes / r.seconds / 1e6, 'high'],
    ['CPU s/GiB', (r) => (r.cpuSeconds / r.bytes) * 2 ** 30, 'low'],
    ['KiB RSS/console', (r) => r.rssPerConsole / 1024, 'low', 'memory'],
    [`KiB RSS per added console (${sizes.w5small}→${sizes.w5count})`, (r) => (r.rssPerAddedConsole ?? NaN) / 1024, 'low', 'memory'],
    ['of it file-backed KiB', (r) => (r.fileBackedPerConsole ?? NaN) / 1024, 'low', 'memory'],
    ['peak ArrayBuffer MiB', (r) => r.peakArrayBuffers / MiB, 'low', 'memory'],
    ['JIT warm-up paged in MiB (before the baseline)', (r) => (r.warmUpFileBacked ?? NaN) / MiB, 'low', 'memory'],
  ],
  W6: [
    ['CPU ms', (r) => r.cpuMs, 'low'],
    ['wake-ups', (r) => r.wakeups ?? r.contextSwitches, 'low'],
  ],
  W7: [
    ['to first byte p50 µs', (r) => r.firstP50, 'low'],
    ['to first byte p99 µs', (r) => r.firstP99, 'low'],
    ['to exit p50 µs', (r) => r.exitP50, 'low'],
    ['to exit p99 µs', (r) => r.exitP99, 'low'],
    ['CPU µs/spawn', (r) => r.cpuUsPerSpawn, 'low'],
  ],
  W8: [
    ['input MB/s', (r) => r.bytes / r.seconds / 1e6, 'high'],
    ['server CPU ms/MiB', (r) => r.serverCpuMsPerMiB, 'low'],
    ['server write calls/MiB', (r) => r.serverWritesPerMiB, 'low'],
  ],
  W10: [['ms/command', (r) => (r.seconds * 1000) / r.trips, 'low']],
  W11: [
    ['MiB held/session', (r) => r.heldPerSession / MiB, 'low', 'memory'],
    ['MiB RSS/session', (r) => r.rssPerSession / MiB, 'low', 'memory'],
    ['snapshot KiB', (r) => (r.snapshotBytes ?? NaN) / 1024, 'low', 'memory'],
  ],
  W12: [
    ['reattach p50 ms', (r) => r.p50, 'low'],
    ['reattach p95 ms', (r) => r.p95, 'low'],
  ],
  W13: [
    ['fds added', (r) => r.fdsAfter - r.fdsBefore, 'low'],
    ['MiB held added', (r) => r.heldGrowth / MiB, 'low', 'memory'],
    ['MiB RSS added', (r) => r.rssGrowth / MiB, 'low', 'memory'],
    ['MiB RSS added, second half', (r) => r.rssGrowthSecondHalf / MiB, 'low', 'memory'],
  ],
  W9: [
    ['seconds', (r) => r.seconds, 'low'],
    ['MB/s', (r) => r.bytes / r.seconds / 1e6, 'high'],
    ['peak RSS MiB', (r) => r.peakRss / MiB, 'low', 'memory'],
  ],
};
const lossText = (bad, runs) => {
  const lost = bad.filter((r) => (r.lost ?? 0) > 0);
  if (!lost.length) return 'in its verification run, or a wrong checksum';
  return `in ${lost.length}/${runs.length} runs, up to ${Math.max(...lost.map((r) => r.lost))} B`;
};
const fmt = (x) => (Number.isFinite(x) ? (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2)) : '-');
const summary = [];
let text = `kqueue-console benchmarks, ${raw.date}${quick ? ' (quick: correctness only)' : ''}; ${reps} interleaved repetitions per peer; medians [min–max] ×ratio to the best\n`;
for (const w of workloads) {
  text += `\n${w}\n`;
  for (const condition of conditions) {
    text += `  ${condition}\n`;
    const peers = [...new Set(raw.runs.filter((r) => r.workload === w && r.condition === condition && !r.verification).map((r) => r.peer))];
    const rows = peers.map((p) => {
      const runs = timedRuns(w, condition, p);
      const bad = runs.filter((r) => r.error || r.skipped || lostBytes(r));
      return { p, runs, bad };
    });
    for (const [name, f, better, kind] of METRICS[w]) {
      // A run that lost bytes has no speed; what it used is still measured
      // (memory), and is shown with the loss beside it.
      const shown = ({ runs, bad }) => !runs.some((r) => r.skipped || r.error) && (!bad.length || kind === 'memory');
      const meds = rows.map((row) => (shown(row) ? median(row.runs.map(f)) : NaN));
      const best = better === 'high' ? Math.max(...meds.filter(Number.isFinite)) : Math.min(...meds.filter(Number.isFinite));
      text += `    ${name}\n`;
      rows.forEach(({ p, runs, bad }, i) => {
        let cell;
        if (runs.some((r) => r.skipped)) cell = `skipped: ${runs[0].skipped}`;
        else if (bad.some((r) => r.error)) cell = `FAILED: ${bad.find((r) => r.error).error}`;
        else if (bad.length && kind !== 'memory') cell = `LOST BYTES ${lossText(bad, runs)}: no speed reported`;
        else {
          const vals = runs.map(f);
          const ratio = best && meds[i] ? meds[i] / best : NaN;
          cell = `${fmt(meds[i])} [${fmt(Math.min(...vals))}–${fmt(Math.max(...vals))}] ×${fmt(ratio)}`;
          if (bad.length) cell += `  (lost bytes ${lossText(bad, runs)})`;
          summary.push({ workload: w, condition, metric: name, peer: p, median: meds[i], ratio, runsLosingBytes: bad.length });
        }
        text += `      ${p.padEnd(24)} ${cell}\n`;
      });
    }
    if (w === 'W6') {
      for (const { p, runs } of rows)
        text += `      ${p.padEnd(24)} bytes after reopen arrived: ${runs.filter((r) => r.arrivedAfterReopen).length}/${runs.length}\n`;
    }
  }
}
text += targetsText();
console.log(text);
const stamp = raw.date.replace(/[:.]/g, '-');
const jsonFile = path.join(resultsDir, `bench-${stamp}.json`);
fs.writeFileSync(jsonFile, JSON.stringify({ ...raw, summary }, null, 2));
fs.writeFileSync(path.join(resultsDir, `bench-${stamp}.txt`), text);

// ---- The targets ---------------------------------------------------------------
/**
 * The project's acceptance targets, and its aims (bench/README.md), judged from
 * this run: the median of kqueue-console against the bound, and how many of
 * the repetitions held it when each is paired with the peer's run of the same
 * repetition (interleaved, so next to it in time). A target a median misses
 * while some pairs hold it is within this machine's noise; one that no pair
 * holds is not. A peer that lost bytes is compared on what it delivered.
 */
function targetList() {
  const T = [];
  // [kind, workload, metric, op, factor, peer (or null: against `bound`), bound, which of ours]
  const rel = (kind, w, name, op, k, peer, ours = 'kqueue-console') => T.push({ kind, w, name, op, k, peer, ours });
  const abs = (kind, w, name, op, bound, ours = 'kqueue-console') => T.push({ kind, w, name, op, bound, ours });
  for (const peer of ['node-pty', 'node-tty']) rel('must', 'W1', 'MB/s', '≥', 1, peer);
  for (const peer of ['C limit (blocking)', 'C limit (epoll ET)']) rel('must', 'W1', 'MB/s', '≥', 0.95, peer);
  for (const peer of ['node-pty', 'node-tty']) rel('must', 'W1', 'CPU s/GiB', '<', 1, peer);
  for (const name of ['p50 µs', 'p99 µs']) {
    rel('must', 'W2', name, '<', 1, 'node-pty');
    rel('must', 'W2', name, '≤', 1, 'node-tty');
  }
  rel('must', 'W2', 'CPU µs/RT', '≤', 1, 'node-tty');
  for (const ours of ['kqueue-console', 'kqueue-console (onread)']) abs('must', 'W3', 'RSS growth MiB', '≤', 4, ours);
  rel('must', 'W4', 'MB/s', '≥', 1, 'node-pty');
  rel('must', 'W4', 'CPU s/GiB', '<', 1, 'node-pty');
  for (const ours of ['kqueue-console', 'kqueue-console (onread)']) {
    rel('must', 'W5', 'MB/s', '≥', 1, 'node-pty', ours);
    rel('must', 'W5', 'KiB RSS/console', '≤', 0.5, 'node-pty', ours);
    rel('info', 'W5', `KiB RSS per added console (${sizes.w5small}→${sizes.w5count})`, '≤', 0.5, 'node-pty', ours);
  }
  abs('must', 'W6', 'wake-ups', '≤', 10);
  abs('must', 'W6', 'CPU ms', '≤', 5);
  // A flood of 1-byte input frames: a few writes per socket read, not one per frame (W8).
  for (const ours of ['web-terminal', 'kqueue-console serve']) abs('must', 'W8', 'server write calls/MiB', '≤', 4096, ours);
  // pexpect took 134 s to match 25 MB (pexpect#438): the harness's expect() at least 50 times faster.
  if (!quick) abs('must', 'W9', 'seconds', '≤', 134 / 50, 'harness expect');
  // The screen: within 1.3 times @xterm/headless fed by spawn() alone.
  rel('must', 'W9', 'seconds', '≤', 1.3, 'xterm alone', 'harness waitFor');
  // run() against a hand-written expect() of the prompt on the same shell: what finding the
  // output and the exit code costs. Against a shell without the marks: informative.
  rel('must', 'W10', 'ms/command', '≤', 1.2, 'harness expect (marked prompt)', 'harness run()');
  rel('aim', 'W10', 'ms/command', '≤', 1.2, 'harness expect (plain prompt)', 'harness run()');
  // Lingering sessions (#34): 2 MiB a session at 1,000 lines (VS Code's terminal: about 1 MB
  // per 1,000 lines), a reattach to a full screen in 50 ms, attach/detach cycles leaving nothing.
  if (!quick) abs('must', 'W11', 'MiB held/session', '≤', 2, 'session');
  rel('info', 'W11', 'MiB held/session', '≤', 1.1, 'xterm alone (the same screen)', 'session');
  if (!quick) abs('must', 'W12', 'reattach p50 ms', '≤', 50, 'session');
  abs('must', 'W13', 'fds added', '≤', 0, 'session');
  abs('must', 'W13', 'MiB held added', '≤', 1, 'session');
  if (!quick) abs('must', 'W13', 'MiB RSS added, second half', '≤', 4, 'session');
  rel('aim', 'W1', 'MB/s', '≥', 1, 'go-epollconsole');
  rel('aim', 'W1', 'CPU s/GiB', '≤', 1.1, 'C limit (blocking)');
  rel('aim', 'W2', 'p50 µs', '≤', 1.1, 'C limit (blocking)');
  if (baseline !== null) baselineTargets(rel);
  return T;
}

/** --baseline: this tree against the other, figure by figure (no worse than it). */
function baselineTargets(rel) {
  for (const w of ['W1', 'W2']) {
    for (const [name, , better] of METRICS[w]) rel('info', w, name, better === 'high' ? '≥' : '≤', 1, 'kqueue-console (baseline)');
  }
}

// Declared, not const: the report above calls targetsText() before this point runs.
function holds(op, x, bound) {
  return op === '≥' ? x >= bound : op === '≤' ? x <= bound : x < bound;
}
function f2(x) {
  return Number.isFinite(x) ? x.toFixed(2) : '-';
}
function runsOf(w, condition, peer) {
  return timedRuns(w, condition, peer).filter((r) => !r.error && !r.skipped);
}
function lossy(runs) {
  return runs.filter(lostBytes).length;
}

/** Target `t` judged in `condition`: the entry for results.json, with `detail`; null when this run has no figures for it. */
function judge(t, condition) {
  const ours = runsOf(t.w, condition, t.ours);
  if (!ours.length) return null;
  const f = METRICS[t.w].find(([n]) => n === t.name)[1];
  const j = { condition, ...t };
  let detail;
  if (t.peer) {
    const theirs = runsOf(t.w, condition, t.peer);
    if (!theirs.length) return null;
    const ratio = median(ours.map(f)) / median(theirs.map(f));
    const pairs = ours.map((r) => [r, theirs.find((x) => x.rep === r.rep)]).filter(([, x]) => x);
    const ratios = pairs.map(([a, b]) => f(a) / f(b)).filter(Number.isFinite);
    const held = ratios.filter((x) => holds(t.op, x, t.k)).length;
    j.verdict = holds(t.op, ratio, t.k) ? 'met' : 'MISSED';
    const spread = `×${f2(Math.min(...ratios))}–${f2(Math.max(...ratios))}, median ×${f2(median(ratios))}`;
    detail = `×${f2(ratio)} of it; held in ${held}/${ratios.length} paired repetitions (${spread})`;
    const peerLossy = lossy(theirs);
    if (peerLossy) detail += `; ${t.peer} lost bytes in ${peerLossy}/${theirs.length} runs`;
    Object.assign(j, { ratio, pairedRatios: ratios, held });
  } else {
    const med = median(ours.map(f));
    const held = ours.filter((r) => holds(t.op, f(r), t.bound)).length;
    j.verdict = holds(t.op, med, t.bound) ? 'met' : 'MISSED';
    detail = `${fmt(med)}; held in ${held}/${ours.length} runs`;
    Object.assign(j, { median: med, held });
  }
  const lost = lossy(ours);
  if (lost) [j.verdict, detail] = ['MISSED', `${detail}; LOST BYTES in ${lost}/${ours.length} runs`];
  const failed = timedRuns(t.w, condition, t.ours).filter((r) => r.error).length;
  if (failed) [j.verdict, detail] = ['MISSED', `${detail}; FAILED in ${failed} runs, judged on the others`];
  return { entry: j, detail };
}

function targetsText() {
  let out = `\nTargets, judged on this run${quick ? ' (quick: too small and too few to mean anything)' : ''}: "must", the project's acceptance targets; "aim", its aims; "info", a figure beside them\n`;
  const judged = [];
  for (const condition of conditions) {
    out += `  ${condition}\n`;
    for (const t of targetList()) {
      if (!workloads.includes(t.w)) continue;
      const result = judge(t, condition);
      if (result === null) continue;
      const what = `${t.w} ${t.ours === 'kqueue-console' ? '' : `${t.ours} `}${t.name} ${t.op} ${t.peer ? `${t.k === 1 ? '' : `${t.k}× `}${t.peer}` : t.bound}`;
      judged.push(result.entry);
      out += `    ${t.kind.padEnd(5)}${result.entry.verdict.padEnd(7)} ${what}: ${result.detail}\n`;
    }
  }
  raw.targets = judged;
  return out;
}

// A chart of W1 MB/s and W2 p50 per peer and condition.
const bars = summary.filter((s) => (s.workload === 'W1' && s.metric === 'MB/s') || (s.workload === 'W2' && s.metric === 'p50 µs'));
if (bars.length) {
  const rowH = 18;
  const width = 760;
  let y = 30;
  let svg = '';
  for (const [w, metric] of [
    ['W1', 'MB/s'],
    ['W2', 'p50 µs'],
  ]) {
    const group = bars.filter((b) => b.workload === w);
    if (!group.length) continue;
    const max = Math.max(...group.map((b) => b.median));
    svg += `<text x="10" y="${y}" font-weight="bold">${w} ${metric} (${w === 'W1' ? 'higher' : 'lower'} is better)</text>`;
    y += 8;
    for (const b of group) {
      const len = (b.median / max) * 420;
      svg += `<text x="10" y="${y + 13}" font-size="12">${b.peer} · ${b.condition}</text>`;
      svg += `<rect x="250" y="${y + 2}" width="${len.toFixed(1)}" height="${rowH - 5}" fill="${b.peer.startsWith('kqueue-console') ? '#2a7' : '#789'}"/>`;
      svg += `<text x="${255 + len}" y="${y + 13}" font-size="12">${fmt(b.median)}</text>`;
      y += rowH;
    }
    y += 24;
  }
  fs.writeFileSync(
    path.join(resultsDir, `bench-${stamp}.svg`),
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>${svg}</svg>\n`,
  );
}
console.log(`raw figures: ${path.relative(root, jsonFile)}`);
if (failures) console.log(`${failures} failed kqueue-console runs (errors, bytes lost, or a wrong checksum)`);
process.exit(failures ? 1 : 0);
