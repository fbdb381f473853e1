// A consumer's module, compiled by test/types.test.ts against the package as
// published (dist/*.d.ts, reached by the package's own name through its
// "exports"). Each @ts-expect-error line is a mistake the typings must
// catch: tsc fails on any of them that compiles.
import type { Duplex, Readable } from 'node:stream';
import { once } from 'node:events';
import * as pty from 'node-pty';
import { Console, KqueueConsole, Kqueuer, current, fromNodePty, openPty, ptyFromFd } from 'kqueue-console';
import type { CodedError, ShutdownError, ShutdownResult, SystemError } from 'kqueue-console';
import { Harness } from 'kqueue-console/harness';
import { serveSessions, type Address } from 'kqueue-console/server';

const kq = new Kqueuer();
const { master, slave } = openPty();
const con = kq.add(master);

// Events: typed where the library knows them.
con.on('hangup', () => {});
// @ts-expect-error 'hangup' has no arguments.
con.on('hangup', (x: number) => x);
con.on('data', (chunk) => {
  const b: Buffer = chunk;
  // @ts-expect-error a chunk is a Buffer, not a number.
  const n: number = chunk;
  void [b, n];
});
con.once('data', (chunk: Buffer | string) => void chunk); // after setEncoding()
con.on('error', (err) => {
  const e: SystemError | CodedError = err;
  void e.code;
});
// @ts-expect-error a misspelled event name.
con.on('hangpu', () => {});
// @ts-expect-error misspelled, through once() too.
con.once('dat', () => {});
// @ts-expect-error and through off().
con.off('eror', () => {});
// Duplex's own events and any computed name keep working.
con
  .on('end', () => {})
  .on('close', () => {})
  .on('drain', () => {})
  .on('finish', () => {});
con.on('pipe', (src: Readable) => void src);
const name: string = 'custom';
con.on(name, (...args: unknown[]) => void args);
con.on(Symbol('mine'), () => {});
void once(con, 'hangup');

// Still a Duplex wherever Node wants one.
const d: Duplex = con;
const r: NodeJS.ReadableStream = con;
const w: NodeJS.WritableStream = con;
void [d, r, w];

// for await yields Buffers.
async function reader(): Promise<number> {
  let n = 0;
  for await (const chunk of con) {
    const b: Buffer = chunk;
    // @ts-expect-error not a string.
    const s: string = chunk;
    n += b.length + s.length;
  }
  return n;
}
void reader;

// shutdown() resolves with the count of bytes not written.
async function stop(): Promise<void> {
  const result: ShutdownResult = await con.shutdown(kq.closeConsole);
  const n: number = result.bytesNotWritten;
  // @ts-expect-error shutdown() resolves with an object, not a number.
  const m: number = await con.shutdown();
  void [n, m];
  con.write('x', (err) => {
    if (err && (err as ShutdownError).code === 'ERR_CONSOLE_SHUTDOWN') void (err as ShutdownError).bytesNotWritten;
  });
  await con.close();
}
void stop;

// Console: upstream's operations.
slave.setRaw();
slave.setRaw({ opost: false });
// @ts-expect-error opost is a boolean.
slave.setRaw({ opost: 'no' });
slave.clearONLCR();
slave.setONLCR();
const { master: m2, slavePath } = ptyFromFd(0);
const c: Console = current();
void [m2, slavePath, c];

// Internals are not in the published types.
// @ts-expect-error Console.adopt is internal.
Console.adopt(3, '/dev/pts/0');
// @ts-expect-error ptyMaster is internal.
void master.ptyMaster;
// @ts-expect-error a KqueueConsole is made by Kqueuer.add(), not new.
new KqueueConsole({});
// @ts-expect-error so is its internal factory.
KqueueConsole.create({});

// fromNodePty's options have no autoClose: it always closes its duplicate.
const p = pty.spawn('sh', [], {});
fromNodePty(p, kq, { readableHighWaterMark: 1024 });
// @ts-expect-error autoClose is not an option of fromNodePty().
fromNodePty(p, kq, { autoClose: false });

void Harness;

// A server given a socket has its address; one in the browser alone may have none.
async function servers(): Promise<Address> {
  const onSocket = await serveSessions({ command: 'sh', listen: { port: 0 } });
  const webOnly = await serveSessions({ command: 'sh', web: {} });
  // @ts-expect-error the browser alone: no socket address.
  const none: Address = webOnly.address;
  void none;
  return onSocket.address;
}
void servers;
