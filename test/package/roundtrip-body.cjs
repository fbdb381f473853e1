// A pty round trip through the installed package, then a program run with
// spawn() to its exit: what roundtrip.cjs (require) and roundtrip.mjs
// (named imports) each run with the names they got. Prints which addon file
// the process loaded, from /proc/self/maps. Both sides are the library's
// streams, not fs.writeSync: Deno's fs takes its own resource ids, not fds,
// and this also runs under Deno and Bun (scripts/test-runtimes.mjs).
// Run by scripts/test-package.mjs inside a fresh project.
'use strict';
const fs = require('node:fs');

module.exports = function roundTrip({ Kqueuer, openPty, spawn }, label, harness) {
  const kq = new Kqueuer();
  const { master, slave } = openPty();
  slave.setRaw({ opost: false });
  const con = kq.add(master);
  const wire = kq.add(slave);
  const timer = setTimeout(() => {
    console.error(`${label}: no echo within 10 s`);
    process.exit(1);
  }, 10_000);
  con.on('data', (chunk) => {
    if (chunk.toString() !== 'ping') throw new Error(`got ${JSON.stringify(chunk.toString())}`);
    clearTimeout(timer);
    const addon = fs.readFileSync('/proc/self/maps', 'utf8').match(/\S*kqueue[-_]console[^\s/]*\.node/)?.[0];
    con.destroy();
    wire.destroy();
    slave.close();
    kq.close();
    spawnToExit(spawn, label)
      .then(() => harness && harnessWithoutScreen(harness, label))
      .then(() => console.log(`${label} ok ${addon}`));
  });
  wire.write('ping');
};

/** spawn() of a program through the installed binary: its output, its exit code. */
async function spawnToExit(spawn, label) {
  const timer = setTimeout(() => {
    console.error(`${label}: spawn() did not end within 10 s`);
    process.exit(1);
  }, 10_000);
  const child = spawn('sh', ['-c', 'printf spawned; exit 5'], { raw: true });
  let out = '';
  for await (const chunk of child.console) out += chunk;
  const { exitCode } = await child.exited;
  clearTimeout(timer);
  if (out !== 'spawned' || exitCode !== 5) throw new Error(`${label}: spawn() gave ${JSON.stringify(out)}, exit ${exitCode}`);
}

/**
 * The harness from the installed package, where the optional peer
 * @xterm/headless is not installed: the byte stream works, the screen is a
 * stable error that names the package.
 */
async function harnessWithoutScreen({ Harness }, label) {
  const h = Harness.spawn('sh', { args: ['-c', 'printf ready; sleep 5'], timeout: 5000 });
  await h.expect('ready');
  let code;
  try {
    h.screen();
  } catch (err) {
    code = err.code;
    if (!/@xterm\/headless/.test(err.message)) throw new Error(`${label}: the screen's error does not name the package: ${err.message}`);
  }
  h.close();
  if (code !== 'ERR_SCREEN_UNAVAILABLE') throw new Error(`${label}: screen() without @xterm/headless gave ${code}`);
}
