#!/usr/bin/env node
// Instructions, not seconds: W1 (bulk read) and W2 (echo round trip) counted
// under valgrind's callgrind, which executes every user-space instruction of
// the reader process (all its threads) on a simulated CPU, so that the count
// does not move with the machine's load as wall-clock figures do.
//
//   npm run bench -- --instructions [--peers a,b] [--workloads W1,W2] [--reps N]
//   node bench/instructions.mjs ...      (after npm run prepare)
//
// Each peer runs twice per workload, small and large (W1: 16 and 64 MiB read;
// W2: 4,000 and 12,000 round trips), and what is reported is the difference
// over the difference in work: the marginal cost of one MiB or one round
// trip, without the process's start-up (Node's alone is hundreds of millions
// of instructions) or its JIT's compilations, which the first few thousand
// round trips set off (with 1,000 and 5,000, a quarter of the figure was
// TurboFan's). Reported per peer:
// instructions and system calls per unit, the ratio to the C loop's
// (`C limit (epoll ET)`: non-blocking reads after edge-triggered readiness,
// what the library does), and the 10 functions whose cost grows most with
// the work: native ones by their symbols, JavaScript ones through the
// `--perf-basic-prof` map V8 writes (/tmp/perf-<pid>.map).
//
// What callgrind does not see: the kernel. A read(2) is one system call here
// whatever the kernel does for it; the system calls per unit are counted
// (--collect-systime) for that reason. Needs Debian's valgrind.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const build = path.join(here, '.build');
const resultsDir = path.join(here, 'results');
const MiB = 1024 * 1024;

const args = process.argv.slice(2);
const value = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
// --quick: small sizes, C and kqueue-console only: that it runs (npm test).
const quick = args.includes('--quick');
const reps = Number(value('reps', 1));
const topCount = Number(value('top', 10));
const workloads = value('workloads', 'W1,W2').split(',');
const C = 'C limit (epoll ET)';
// 'addon alone': the floor under the streams, the addon called straight (bench/peers/node-peer.mjs).
const ALL_PEERS = [
  C,
  'C limit (blocking)',
  'node-tty',
  'kqueue-console',
  'kqueue-console (thread)',
  'kqueue-console (tsfn)',
  'addon alone',
  'addon alone (thread)',
  'addon alone (tsfn)',
];
const peers = value('peers', quick ? 'kqueue-console' : ALL_PEERS.join(',')).split(',');
if (!peers.includes(C)) peers.unshift(C); // The ratios' reference.

/** The two sizes of each workload, and its unit. */
const SIZES = quick
  ? { W1: { small: 4, large: 32, unit: 'MiB' }, W2: { small: 500, large: 2500, unit: 'round trip' } }
  : { W1: { small: 16, large: 64, unit: 'MiB' }, W2: { small: 4000, large: 12000, unit: 'round trip' } };

if (spawnSync('valgrind', ['--version'], { timeout: 60_000 }).status !== 0) {
  console.error('valgrind is not installed (Debian: apt-get install valgrind)');
  process.exit(1);
}
fs.mkdirSync(build, { recursive: true });
fs.mkdirSync(resultsDir, { recursive: true });
const limit = path.join(build, 'limit-g');
execFileSync('cc', ['-O2', '-g', '-o', limit, path.join(here, 'peers', 'limit.c')], { stdio: 'pipe', timeout: 120_000 });
const payloads = {};
for (const mib of [SIZES.W1.small, SIZES.W1.large]) {
  payloads[mib] = path.join(build, `payload-${mib}m`);
  if (!fs.existsSync(payloads[mib]) || fs.statSync(payloads[mib]).size !== mib * MiB)
    fs.writeFileSync(payloads[mib], randomBytes(mib * MiB));
}

// V8's map of the code it makes; its GC and compilers on the main thread, so
// that their work happens at the same points in every run (callgrind counts
// every thread's instructions, but work on background threads lands at
// moments that vary from run to run, and a run's share of it with them).
// Fixed seeds: from a random hash seed, V8's start-up searches for primes
// (HashSeed::InitializeRoots, detail::sprp) for 4 to 15 million
// instructions, a different count in each run, which the marginal over
// 8,000 round trips took for up to a thousand instructions per trip.
const NODE_FLAGS = [
  '--perf-basic-prof',
  '--hash-seed=1',
  '--random-seed=1',
  // GC at fixed points too: with collections on V8's own schedule a W2
  // marginal carried a root scan (IterateObjectCache, 518 per trip) in one
  // run and not the next.
  ...(process.env.KQC_INSTR_NODE_FLAGS ?? '--single-threaded --predictable-gc-schedule').split(' ').filter(Boolean),
];

/** The command of one run: [file, args, env]. */
function command(peer, workload, n) {
  const arg = workload === 'W1' ? payloads[n] : String(n);
  if (peer.startsWith('C limit')) return [limit, [workload, peer.includes('epoll') ? 'epoll' : 'blocking', arg, 'untimed'], {}];
  const opt = workload === 'W1' ? { file: arg } : { trips: n, untimed: true };
  const mode = /\((thread|tsfn)\)/.exec(peer)?.[1];
  const kind = peer.replace(/ \(.*\)$/, '');
  return [
    process.execPath,
    [...NODE_FLAGS, path.join(here, 'peers', 'node-peer.mjs'), kind, workload, JSON.stringify(opt)],
    mode ? { KQUEUE_CONSOLE_WAKEUP: mode } : {},
  ];
}

/** One run under callgrind: its totals and its cost per function (JIT code named through V8's perf map). */
function measure(peer, workload, n) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kqc-instr-'));
  try {
    const [file, argv, env] = command(peer, workload, n);
    const out = path.join(dir, 'callgrind.out');
    const r = spawnSync(
      'valgrind',
      // V8 writes the code it runs: valgrind must see writes to any code not from a file.
      ['--tool=callgrind', '--smc-check=all-non-file', '--collect-systime=usec', `--callgrind-out-file=${out}`, file, ...argv],
      { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 1_800_000, maxBuffer: 64 * MiB },
    );
    const result = JSON.parse(r.stdout.trim().split('\n').pop() || '{}');
    // Node's tty stream loses the tail of a pty's output (README.md): a peer's loss of
    // less than a MiB is counted and said; ours may lose nothing.
    const lost = workload === 'W1' ? n * MiB - (Number.isInteger(result.bytes) ? result.bytes : 0) : 0;
    const ours = peer.startsWith('kqueue-console') || peer.startsWith('addon alone');
    const expected = workload === 'W1' ? lost === 0 || (!ours && lost > 0 && lost < MiB) : result.trips === n;
    if (r.status !== 0 || !expected) throw new Error(`${peer} ${workload} ${n}: ${r.stderr.slice(-2000)}${r.stdout}`);
    const text = fs.readFileSync(out, 'utf8');
    const events = /^events: (.*)$/m.exec(text)[1].split(' ');
    const totals = /^(?:summary|totals): (.*)$/m.exec(text)[1].split(' ').map(Number);
    const pid = Number(/^pid: (\d+)/m.exec(text)[1]);
    return { ir: totals[events.indexOf('Ir')], syscalls: totals[events.indexOf('sysCount')], lost, functions: functionCosts(out, pid) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Self cost (Ir) per function of a callgrind file, JIT addresses resolved through /tmp/perf-<pid>.map. */
function functionCosts(out, pid) {
  const table = execFileSync('callgrind_annotate', ['--show=Ir', '--threshold=100', '--inclusive=no', '--auto=no', out], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
    maxBuffer: 256 * MiB,
    timeout: 600_000,
  });
  const map = perfMap(pid);
  const costs = new Map();
  for (const line of table.split('\n')) {
    const m = /^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(\S.*)$/.exec(line);
    if (m === null || m[2] === 'PROGRAM TOTALS') continue;
    // "file:function [object]", the object dropped; "'2" marks a recursion depth.
    let name = m[2].replace(/^\?\?\?:/, '').replace(/'\d+/, '');
    if (!/^0x/.test(name)) name = name.replace(/ \[[^\]]*\]$/, '');
    const address = /^0x([0-9a-f]+) \[\?\?\?\]$/.exec(name);
    if (address !== null) name = resolve(map, parseInt(address[1], 16)) ?? 'JIT code (unnamed)';
    costs.set(name, (costs.get(name) ?? 0) + Number(m[1].replace(/,/g, '')));
  }
  fs.rmSync(`/tmp/perf-${pid}.map`, { force: true });
  return costs;
}

/** V8's map of the code it made: sorted [start, end, name]. */
function perfMap(pid) {
  let text = '';
  try {
    text = fs.readFileSync(`/tmp/perf-${pid}.map`, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .map((line) => /^([0-9a-f]+) ([0-9a-f]+) (.*)$/.exec(line))
    .filter(Boolean)
    .map((m) => [parseInt(m[1], 16), parseInt(m[1], 16) + parseInt(m[2], 16), `JS ${m[3]}`])
    .sort((a, b) => a[0] - b[0]);
}

function resolve(map, address) {
  let lo = 0;
  let hi = map.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (map[mid][1] <= address) lo = mid + 1;
    else if (map[mid][0] > address) hi = mid - 1;
    else return map[mid][2];
  }
  return null;
}

/**
 * The layer a function belongs to, by its name: which instructions are the
 * library's own, which its peer's or Node's, and which the floor every
 * reader in Node pays (the loop, V8's calls in and out, the tick queue).
 */
const LAYERS = [
  ['our JavaScript', (n) => n.startsWith('JS ') && n.includes('/dist/')],
  ["the bench's JavaScript", (n) => n.startsWith('JS ') && n.includes('/bench/')],
  ["Node's JavaScript (streams, events, ticks)", (n) => n.startsWith('JS ') && n.includes('node:')],
  // Its symbols carry no file: kqc:: and the kevent emulation's (native/kevent/kevent_linux.cc).
  ['our addon (C++)', (n) => /(^|\/)native\/|^kqc::|^kevent\(|\(anonymous namespace\)::(Kq|Knote)\b|Knote>/.test(n)],
  // Node's side of it (napi_*, v8impl, the env) and node-addon-api's C++ wrappers in our addon (Napi::).
  [
    'Node-API',
    (n) => /^(napi_|v8impl|node_api|node_napi_env|Napi::|\(anonymous namespace\)::v8impl)/.test(n) || n.includes('js_native_api'),
  ],
  ['libuv', (n) => /(^|:)uv_|\/uv\//.test(n)],
  ['Node (C++)', (n) => n.includes('node::')],
  ['libc (system call wrappers, malloc)', (n) => n.startsWith('./')],
  ['V8 (builtins, runtime, GC, other JIT code)', () => true],
];

/** Marginal instructions per unit by layer, from a small and a large run's function costs. */
function byLayer(a, b, units) {
  const out = Object.fromEntries(LAYERS.map(([name]) => [name, 0]));
  for (const [name, cost] of b.entries()) {
    const layer = LAYERS.find(([, test]) => test(name))[0];
    out[layer] += (cost - (a.get(name) ?? 0)) / units;
  }
  return out;
}

/** The marginal cost per unit of work, from a small and a large run. */
function marginal(peer, workload) {
  const { small, large } = SIZES[workload];
  const a = measure(peer, workload, small);
  const b = measure(peer, workload, large);
  const units = large - small;
  const top = [...b.functions.entries()]
    .map(([name, cost]) => [name, (cost - (a.functions.get(name) ?? 0)) / units])
    .sort((x, y) => y[1] - x[1])
    .slice(0, topCount);
  const layers = byLayer(a.functions, b.functions, units);
  return { ir: (b.ir - a.ir) / units, syscalls: (b.syscalls - a.syscalls) / units, lost: a.lost + b.lost, top, layers };
}

const results = {};
for (const workload of workloads) {
  results[workload] = {};
  for (const peer of peers) {
    const runs = [];
    for (let i = 0; i < reps; i++) {
      process.stderr.write(`${workload} ${peer}: run ${i + 1} of ${reps}\n`);
      runs.push(marginal(peer, workload));
    }
    results[workload][peer] = runs;
  }
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');
for (const workload of workloads) {
  const { unit } = SIZES[workload];
  const cIr = median(results[workload][C].map((r) => r.ir));
  console.log(
    `\n${workload}: instructions per ${unit} (user space, every thread), marginal over ${SIZES[workload].small} -> ${SIZES[workload].large}`,
  );
  console.log(`${'peer'.padEnd(26)} ${'instructions'.padStart(14)} ${'× C'.padStart(8)} ${'syscalls'.padStart(9)}  spread`);
  for (const peer of peers) {
    const runs = results[workload][peer];
    const ir = median(runs.map((r) => r.ir));
    const spread =
      runs.length > 1
        ? `±${((100 * (Math.max(...runs.map((r) => r.ir)) - Math.min(...runs.map((r) => r.ir)))) / 2 / ir).toFixed(1)} %`
        : '';
    console.log(
      `${peer.padEnd(26)} ${fmt(ir).padStart(14)} ${(ir / cIr).toFixed(1).padStart(8)} ${median(runs.map((r) => r.syscalls))
        .toFixed(2)
        .padStart(
          9,
        )}  ${spread}${runs.some((r) => r.lost > 0) ? `  (lost ${Math.max(...runs.map((r) => r.lost))} bytes of its tail)` : ''}`,
    );
  }
  for (const peer of peers.filter((p) => !p.startsWith('C limit'))) {
    console.log(`\n  ${workload} ${peer}: where the instructions per ${unit} go, by layer`);
    for (const [layer, cost] of Object.entries(results[workload][peer][0].layers)) console.log(`    ${fmt(cost).padStart(10)}  ${layer}`);
  }
  for (const peer of peers) {
    console.log(`\n  ${workload} ${peer}: the ${topCount} functions that grow most, instructions per ${unit}`);
    for (const [name, cost] of results[workload][peer][0].top) console.log(`    ${fmt(cost).padStart(10)}  ${name.slice(0, 110)}`);
  }
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const file = path.join(resultsDir, `instructions-${stamp}.json`);
const serializable = JSON.parse(JSON.stringify(results, (k, v) => (v instanceof Map ? undefined : v)));
fs.writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), sizes: SIZES, results: serializable }, null, 2));
console.log(`\nraw figures: ${path.relative(process.cwd(), file)}`);
