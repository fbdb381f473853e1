// The same round trip as an ES module user writes it: named imports from the
// CommonJS package.
import * as fs from 'node:fs';
import { Kqueuer, openPty } from 'kqueue-console';

const kq = new Kqueuer();
const { master, slave } = openPty();
slave.setRaw({ opost: false });
const con = kq.add(master);
const timer = setTimeout(() => {
  console.error('roundtrip.mjs: no echo within 10 s');
  process.exit(1);
}, 10_000);
con.on('data', (chunk) => {
  if (chunk.toString() !== 'ping') throw new Error(`got ${JSON.stringify(chunk.toString())}`);
  clearTimeout(timer);
  const addon = fs.readFileSync('/proc/self/maps', 'utf8').match(/\S*kqueue[-_]console[^\s/]*\.node/)?.[0];
  console.log(`mjs ok ${addon}`);
  con.destroy();
  slave.close();
  kq.close();
});
fs.writeSync(slave.fd, 'ping');
