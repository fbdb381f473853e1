// One benchmark run of one Node peer, in a process of its own:
//   node node-peer.mjs <peer> <workload> '<json options>'
// Peers: kqueue-console, node-pty, node-tty; "kqueue-console (onread)" and
// "node-tty (onread)" read into buffers the consumer reuses (the onread
// option of each, W3 and W5 only); "addon alone" is the floor under our
// streams (W1 and W2 only): the addon's kqueue, read(2) and write(2) called
// straight from its event callback, no stream, no state. Prints one JSON
// result line.
// Every peer gets the same pty settings: the child itself runs
// `stty raw -echo` before its work, and says "R" when it is ready.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { createRequire } from 'node:module';
import * as tty from 'node:tty';
import { Writable } from 'node:stream';

const require = createRequire(import.meta.url);
const root = new URL('../../', import.meta.url).pathname;
const lib = require(`${root}dist/index.js`);
const { kReady } = require(`${root}dist/stream/ports.js`);

const [peer, workload, json] = process.argv.slice(2);
const ONREAD = ' (onread)';
const onreadMode = peer.endsWith(ONREAD);
const kind = onreadMode ? peer.slice(0, -ONREAD.length) : peer;
const opt = JSON.parse(json ?? '{}');
const RAW = 'stty raw -echo cs8 -parenb';
const { EAGAIN } = os.constants.errno;

const now = () => Number(process.hrtime.bigint()) / 1e9;
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const rss = () => process.memoryUsage.rss();
const csw = () => process.resourceUsage().voluntaryContextSwitches + process.resourceUsage().involuntaryContextSwitches;

/**
 * The file-backed part of the RSS in bytes (Linux: RssFile), or null: pages
 * of the node binary and libraries, paged in as new code runs (the JIT
 * compiler's own code, say); clean and shared with the page cache.
 */
function rssFile() {
  try {
    const m = /^RssFile:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/**
 * Samples the RSS and `process.memoryUsage().arrayBuffers` (the Buffers alive
 * plus those spent and not yet collected by V8) every 20 ms; `reset()` starts
 * over from now, `stop()` returns the peaks over the RSS at the (re)start,
 * and how much of the RSS peak's growth was file-backed.
 */
function memorySampler() {
  let idle, peak, peakBuffers, file0, fileAtPeak;
  const reset = () => {
    idle = rss();
    peak = idle;
    peakBuffers = process.memoryUsage().arrayBuffers;
    file0 = fileAtPeak = rssFile();
  };
  reset();
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    if (m.rss > peak) {
      peak = m.rss;
      fileAtPeak = rssFile();
    }
    peakBuffers = Math.max(peakBuffers, m.arrayBuffers);
  }, 20);
  return {
    reset,
    stop() {
      clearInterval(timer);
      const fileGrowth = file0 === null || fileAtPeak === null ? null : fileAtPeak - file0;
      return { rssGrowth: peak - idle, fileBackedGrowth: fileGrowth, peakArrayBuffers: peakBuffers };
    },
  };
}

/**
 * Runs before W3's and W5's RSS baseline, in every Node peer alike: makes
 * V8's optimizing compiler run, on code that does no I/O and keeps nothing
 * (numbers, small objects, one typed array, closures), until the file-backed
 * RSS has stopped growing. The compiler's first runs page about 4 MiB of
 * the node binary in; without this that lands in whichever workload comes
 * first, although every Node process pays it once, early, whatever it
 * reads. So the baseline is a Node process that has run optimized code.
 * Touches no console, stream or Buffer, so it cannot hide what reading
 * costs. Returns how much it paged in (bytes, or null off Linux): the
 * growth a cold process would add.
 */
let jitSink = 0;
function warmUpJit() {
  const arith = (n, s) => {
    for (let i = 0; i < n; i++) s = (s * 31 + i) % 1000003;
    return s;
  };
  const objects = (n, s) => {
    const a = [];
    for (let i = 0; i < n; i++) a.push({ x: i, y: s });
    let t = 0;
    for (const o of a) t += o.x ^ o.y;
    return t % 1000003;
  };
  const u = new Uint8Array(256); // One, reused: the warm-up frees no ArrayBuffer memory for later reuse.
  const typed = (n, s) => {
    for (let i = 0; i < n; i++) u[i & 255] = (s + i) & 255;
    let t = 0;
    for (let i = 0; i < 256; i++) t += u[i];
    return t;
  };
  const steps = [(x) => x + 1, (x) => x * 2, (x) => x - 3];
  const closures = (n, s) => {
    for (let i = 0; i < n; i++) s = steps[i % 3](s) % 1000003;
    return s;
  };
  const file0 = rssFile();
  const t0 = now();
  let sink = jitSink + 1;
  let file = file0;
  let still = now();
  // At least 0.3 s, then until nothing more was paged in for 0.1 s (2 s at most).
  while (now() - t0 < 2 && (now() - t0 < 0.3 || now() - still < 0.1)) {
    for (let k = 0; k < 20; k++) sink = closures(1000, typed(1000, objects(100, arith(1000, sink))));
    const f = rssFile();
    if (f !== file) {
      file = f;
      still = now();
    }
  }
  jitSink = sink; // Kept, so the work is not dead code.
  return file0 === null || file === null ? null : file - file0;
}

let kqueuer = null;

/**
 * Starts `script` (sh) on a new pty for this peer; returns its reader/writer.
 * `onread` ({ buffer, callback }, for the onread peers) is given to the
 * reader, which then reads into the caller's buffers and emits no 'data'.
 */
function start(script, onread) {
  const cmd = ['sh', ['-c', `${RAW}; printf R; ${script}`]];
  if (kind === 'node-pty') {
    const pty = require(`${root}node_modules/node-pty`);
    const p = pty.spawn(cmd[0], cmd[1], { cols: 80, rows: 24, encoding: null });
    const exited = new Promise((r) => p.onExit(({ exitCode }) => r(exitCode)));
    return {
      onData: (f) => p.onData(f),
      write: (b) => p.write(b),
      exited,
      done: exited.then(() => new Promise((r) => setImmediate(r))),
    };
  }
  const { master, slave } = lib.openPty();
  const child = spawn(cmd[0], cmd[1], { stdio: [slave.fd, slave.fd, slave.fd] });
  slave.close();
  const exited = once(child, 'exit').then(([c]) => c);
  if (kind === 'addon alone') return addonAlone(master.fd, exited);
  if (kind === 'node-tty') {
    const rs = new tty.ReadStream(master.fd, onread ? { onread } : undefined);
    if (onread) rs.resume(); // Its reading starts on resume() (or a 'data' listener).
    let closed;
    const done = new Promise((r) => (closed = r));
    rs.on('error', () => closed()); // EIO once the slave is gone: the end, to libuv.
    rs.on('close', () => closed());
    return {
      onData: (f) => rs.on('data', f),
      write: (b) => fs.writeSync(master.fd, b),
      stream: rs,
      exited,
      done: Promise.all([exited, done]),
    };
  }
  kqueuer ??= new lib.Kqueuer(); // One for every console of the run (W5: 256 on one).
  const con = kqueuer.add(master, onread ? { onread } : undefined);
  const ended = once(con, 'end');
  return {
    onData: (f) => con.on('data', f),
    write: (b) => con.write(b),
    stream: con,
    con,
    exited,
    done: exited.then(() => con.shutdown()).then(() => ended),
  };
}

/**
 * The least JavaScript a reader of this addon can run: each wake-up reads
 * until the fd says EAGAIN (or EIO: the end here) and hands the listener a
 * view of one reused buffer; writes go straight to write(2). What the
 * kqueue-console peer costs beyond this is its streams'.
 */
function addonAlone(fd, exited) {
  const native = require(`${root}dist/addon/binding.js`).binding();
  const buf = Buffer.allocUnsafe(64 * 1024);
  let listener = () => {};
  let hungUp;
  const eio = new Promise((r) => (hungUp = r));
  // As a Kqueuer chooses (poll where the kqueue's fd polls, else thread), or as the bench's peer says.
  const wakeup = native.wakeups[process.env.KQUEUE_CONSOLE_WAKEUP ?? 'auto'];
  const kq = new native.Kqueue(() => {
    for (;;) {
      // stopSmall: a short read ends the loop, as our reader does on a pty (read-policy.ts).
      const n = native.read(fd, buf, 0, buf.length, false, true);
      if (n > 0) listener(buf.subarray(0, n));
      if (n === buf.length) continue;
      // Short: EAGAIN (a small read stopped early says so too); EIO or the end of file: the end here.
      if (native.status[0] !== EAGAIN) hungUp();
      return;
    }
  }, wakeup);
  if (kq.add(fd, 1) < 0) throw new Error(`kevent: errno ${native.status[0]}`); // Also sets O_NONBLOCK.
  kq.ref(); // Held until the end is read, whatever the mode's default (a Kqueuer refs while a console waits).
  return {
    onData: (f) => (listener = f),
    write: (b) => {
      if (native.write(fd, b, 0, b.length) !== b.length) throw new Error(`write: errno ${native.status[0]}`);
    },
    exited,
    done: Promise.all([exited, eio]).then(() => kq.close()),
  };
}

/** Resolves once the child says it is ready (its "R"), passing on the rest. */
function ready(s, onData) {
  return new Promise((resolve) => s.onData(afterMarker(onData, resolve)));
}

/** A data handler that skips what comes before the child's "R" and calls `onReady` at it. */
function afterMarker(onData, onReady = () => {}) {
  let seen = false;
  return (b) => {
    if (!seen) {
      const i = b.indexOf(0x52);
      if (i < 0) return;
      seen = true;
      onReady();
      b = b.subarray(i + 1);
      if (b.length === 0) return;
    }
    onData(b);
  };
}

async function w1() {
  // Bulk read: the child writes the payload file and exits at once.
  let bytes = 0;
  const out = opt.out ? fs.openSync(opt.out, 'w') : -1;
  const cpu0 = cpu();
  const t0 = now();
  const s = start(`exec cat ${opt.file}`);
  await ready(s, (b) => {
    bytes += b.length;
    if (out >= 0) fs.writeSync(out, b);
  });
  await s.done;
  return { bytes, seconds: now() - t0, cpuSeconds: cpu() - cpu0 };
}

async function w2() {
  // Echo round trips of 64 bytes through cat.
  const msg = Buffer.alloc(64, 'e');
  let got = 0;
  let wake = null;
  const s = start('exec cat');
  await ready(s, (b) => {
    got += b.length;
    if (wake && got >= 64) {
      got -= 64;
      const w = wake;
      wake = null;
      w();
    }
  });
  if (opt.untimed) {
    // bench/instructions.mjs: the round trips alone, no clock read per trip.
    for (let i = 0; i < opt.trips; i++) {
      await new Promise((r) => {
        wake = r;
        s.write(msg);
      });
    }
    return { trips: opt.trips, exit: true };
  }
  const lat = [];
  const cpu0 = cpu();
  for (let i = 0; i < opt.trips; i++) {
    const t = now();
    await new Promise((r) => {
      wake = r;
      s.write(msg);
    });
    lat.push((now() - t) * 1e6);
  }
  const cpuUs = ((cpu() - cpu0) * 1e6) / opt.trips;
  lat.sort((a, b) => a - b);
  return {
    trips: opt.trips,
    p50: lat[Math.floor(lat.length * 0.5)],
    p99: lat[Math.floor(lat.length * 0.99)],
    cpuUsPerTrip: cpuUs,
    exit: true,
  };
}

/**
 * W3, slow consumer: the child prints the payload, the consumer takes 1 MiB
 * per 10 ms. Reports the peak RSS over the RSS once the JIT is warm
 * (warmUpJit), the reader set up and the child running, and the peak of
 * `process.memoryUsage().arrayBuffers`: the Buffers alive plus those spent
 * and not yet collected by V8.
 */
async function w3() {
  const warmUpFileBacked = warmUpJit();
  const memory = memorySampler();
  const out = opt.out ? fs.openSync(opt.out, 'w') : -1; // The verification run's copy, for its checksum.
  const consumer = slowConsumer(memory, out);
  const slow = consumer.writable;
  const t0 = now();
  const cpu0 = cpu();
  let s;
  if (onreadMode) {
    // Reads go into 16 KiB buffers from a pool; each goes back when the
    // consumer has taken it, and reading pauses while the consumer is full.
    const pool = [];
    s = start(`exec cat ${opt.file}`, {
      buffer: () => pool.pop() ?? Buffer.allocUnsafe(16 * 1024),
      callback(n, buf) {
        if (slow.write(buf.subarray(0, n), () => pool.push(buf))) return true;
        slow.once('drain', () => s.stream.resume());
        return false;
      },
    });
  } else {
    s = start(`exec cat ${opt.file}`);
    if (s.stream)
      s.stream.pipe(slow, { end: false }); // The stream's own backpressure.
    else s.onData((b) => slow.write(b)); // node-pty's onData: no backpressure.
  }
  await s.done;
  await new Promise((r) => slow.write(Buffer.alloc(0), r)); // After every earlier write.
  return { bytes: consumer.bytes(), seconds: now() - t0, cpuSeconds: cpu() - cpu0, ...memory.stop(), warmUpFileBacked };
}

/** W3's consumer: takes 1 MiB per 10 ms, skipping the child's "R" (and restarting `memory` there); copies to `out` if open. */
function slowConsumer(memory, out) {
  let bytes = 0;
  let credit = 0;
  let marker = true; // The child's "R" comes first; the consumer skips it.
  const writable = new Writable({
    highWaterMark: 64 * 1024,
    write(chunk, _e, cb) {
      if (marker) {
        const i = chunk.indexOf(0x52);
        if (i < 0) return cb();
        marker = false;
        chunk = chunk.subarray(i + 1);
        memory.reset();
      }
      bytes += chunk.length;
      if (out >= 0) fs.writeSync(out, chunk);
      credit += chunk.length;
      if (credit >= 1 << 20) {
        credit -= 1 << 20;
        setTimeout(cb, 10);
      } else cb();
    },
  });
  return { writable, bytes: () => bytes };
}

async function w4() {
  // Bulk write: the reader writes `size` bytes; the child reads exactly that.
  const s = start(`exec head -c ${opt.size} > /dev/null`);
  await ready(s, () => {});
  const chunk = Buffer.alloc(64 * 1024, 'w');
  const cpu0 = cpu();
  const t0 = now();
  let sent = 0;
  if (s.con) {
    while (sent < opt.size) {
      const n = Math.min(chunk.length, opt.size - sent);
      sent += n;
      if (!s.con.write(n === chunk.length ? chunk : chunk.subarray(0, n))) await once(s.con, 'drain');
    }
  } else if (kind === 'node-pty') {
    while (sent < opt.size) {
      const n = Math.min(chunk.length, opt.size - sent);
      s.write(n === chunk.length ? chunk : chunk.subarray(0, n));
      sent += n;
    }
  }
  const code = await s.exited;
  return { bytes: code === 0 ? opt.size : 0, seconds: now() - t0, cpuSeconds: cpu() - cpu0 };
}

async function w5() {
  // Many consoles: `count` children each write `each` bytes at once.
  const warmUpFileBacked = warmUpJit();
  const memory = memorySampler();
  let bytes = 0;
  const cpu0 = cpu();
  const t0 = now();
  const all = [];
  const count = (b) => (bytes += b.length);
  const shared = Buffer.allocUnsafe(64 * 1024); // onread: one buffer for every console.
  for (let i = 0; i < opt.count; i++) {
    const script = `exec head -c ${opt.each} /dev/zero`;
    if (onreadMode) {
      const take = afterMarker(count);
      all.push(start(script, { buffer: shared, callback: (n, buf) => take(buf.subarray(0, n)) }).done);
    } else {
      const s = start(script);
      all.push(ready(s, count).then(() => s.done));
    }
  }
  await Promise.all(all);
  const m = memory.stop();
  return {
    bytes,
    seconds: now() - t0,
    cpuSeconds: cpu() - cpu0,
    rssPerConsole: m.rssGrowth / opt.count,
    fileBackedPerConsole: m.fileBackedGrowth === null ? null : m.fileBackedGrowth / opt.count,
    peakArrayBuffers: m.peakArrayBuffers,
    warmUpFileBacked,
  };
}

async function w6() {
  // Hang-up idle: the slave is closed for `idle` s, then reopened and written.
  if (kind === 'node-pty') return { skipped: 'node-pty cannot reopen its slave (it does not expose it)' };
  const { master, slave, slavePath } = lib.openPty();
  let text = '';
  const reader = hangupReader(master);
  const { onData, hungUp } = reader;
  onData((b) => (text += b.toString()));
  fs.writeSync(slave.fd, 'before\n');
  while (!text.includes('before')) await new Promise((r) => setTimeout(r, 5));
  slave.close();
  await hungUp;
  const w0 = reader.wakeups();
  const c0 = csw();
  const cpu0 = cpu();
  await new Promise((r) => setTimeout(r, opt.idle * 1000));
  const cpuMs = (cpu() - cpu0) * 1000;
  const switches = csw() - c0;
  let again;
  try {
    again = fs.openSync(slavePath, fs.constants.O_RDWR | fs.constants.O_NOCTTY);
  } catch (err) {
    // The reader closed the master when it saw EIO: the pty is gone.
    return { cpuMs, wakeups: null, contextSwitches: switches, arrivedAfterReopen: false, note: `reopen failed: ${err.code}` };
  }
  fs.writeSync(again, 'after\n');
  const until = Date.now() + 1000;
  while (!text.includes('after') && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
  return {
    cpuMs,
    wakeups: kind === 'kqueue-console' ? reader.wakeups() - w0 : null,
    contextSwitches: switches,
    arrivedAfterReopen: text.includes('after'),
  };
}

/** W6's reader of `master`: Node's tty stream, or a console whose wake-ups are counted. */
function hangupReader(master) {
  if (kind === 'node-tty') {
    const rs = new tty.ReadStream(master.fd);
    // libuv reports the EIO as an error.
    return { onData: (f) => rs.on('data', f), hungUp: new Promise((r) => rs.once('error', r)), wakeups: () => 0 };
  }
  let wakeups = 0;
  const kq = new lib.Kqueuer();
  const con = kq.add(master);
  const deliver = con[kReady].bind(con);
  con[kReady] = (bits) => {
    wakeups++;
    deliver(bits);
  };
  return { onData: (f) => con.on('data', f), hungUp: once(con, 'hangup'), wakeups: () => wakeups };
}

/**
 * W7, spawn latency: `opt.count` programs one after another, each printing
 * one byte and exiting (`printf x`); the time from the call that starts it
 * to its first byte, and to the moment its exit is known with all its
 * output read. Peers: kqueue-console's spawn(), node-pty's spawn(), and
 * child_process.spawn() on an openPty() slave read by a Kqueuer (the wiring
 * spawn() replaces).
 */
async function w7() {
  const first = [];
  const exit = [];
  const cpu0 = cpu();
  for (let i = 0; i < opt.count; i++) {
    const t0 = now();
    let t1 = 0;
    const sawByte = () => (t1 ||= now());
    if (kind === 'node-pty') {
      const pty = require(`${root}node_modules/node-pty`);
      const p = pty.spawn('printf', ['x'], { cols: 80, rows: 24 });
      p.onData(sawByte);
      await new Promise((r) => p.onExit(r));
    } else if (kind === 'child_process') {
      kqueuer ??= new lib.Kqueuer();
      const { master, slave } = lib.openPty();
      const con = kqueuer.add(master);
      con.on('data', sawByte);
      const ended = once(con, 'end');
      const child = spawn('printf', ['x'], { stdio: [slave.fd, slave.fd, slave.fd] });
      slave.close();
      await once(child, 'exit');
      await con.shutdown();
      await ended;
      con.destroy();
    } else {
      const p = lib.spawn('printf', ['x']);
      p.console.on('data', sawByte);
      await Promise.all([p.exited, once(p.console, 'end')]);
    }
    const t2 = now();
    if (!t1) throw new Error(`run ${i}: no byte before the exit`);
    first.push((t1 - t0) * 1e6);
    exit.push((t2 - t0) * 1e6);
  }
  const pct = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))];
  return {
    count: opt.count,
    firstP50: pct(first, 0.5),
    firstP99: pct(first, 0.99),
    exitP50: pct(exit, 0.5),
    exitP99: pct(exit, 0.99),
    cpuUsPerSpawn: ((cpu() - cpu0) * 1e6) / opt.count,
  };
}

const run = { W1: w1, W2: w2, W3: w3, W4: w4, W5: w5, W6: w6, W7: w7 }[workload];
run()
  .then((r) => {
    process.stdout.write(JSON.stringify(r) + '\n');
    process.exit(0);
  })
  .catch((err) => {
    process.stdout.write(JSON.stringify({ error: String(err && err.stack) }) + '\n');
    process.exit(1);
  });
