// A pty round trip through the installed package: what roundtrip.cjs
// (require) and roundtrip.mjs (named imports) each run with the names they
// got. Prints which addon file the process loaded, from /proc/self/maps.
// Run by scripts/test-package.mjs inside a fresh project.
'use strict';
const fs = require('node:fs');

module.exports = function roundTrip({ Kqueuer, openPty }, label) {
  const kq = new Kqueuer();
  const { master, slave } = openPty();
  slave.setRaw({ opost: false });
  const con = kq.add(master);
  const timer = setTimeout(() => {
    console.error(`${label}: no echo within 10 s`);
    process.exit(1);
  }, 10_000);
  con.on('data', (chunk) => {
    if (chunk.toString() !== 'ping') throw new Error(`got ${JSON.stringify(chunk.toString())}`);
    clearTimeout(timer);
    const addon = fs.readFileSync('/proc/self/maps', 'utf8').match(/\S*kqueue[-_]console[^\s/]*\.node/)?.[0];
    console.log(`${label} ok ${addon}`);
    con.destroy();
    slave.close();
    kq.close();
  });
  fs.writeSync(slave.fd, 'ping');
};
