// The README's usage example: run a command on a new pty and stream its
// output. `npm run example` runs it (built into dist/examples).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Kqueuer, openPty } from 'kqueue-console';

async function main(): Promise<void> {
  const kq = new Kqueuer(); // one kqueue, polled by the event loop, any number of consoles
  const waiting = kq.wait(); // settles when the Kqueuer closes

  const { master, slave } = openPty();
  slave.setRaw({ opost: false }); // no echo, no CRLF translation: bytes pass through unchanged

  const con = kq.add(master); // a Duplex stream over the pty master
  con.pipe(process.stdout, { end: false });
  const ended = once(con, 'end');

  const child = spawn('sh', ['-c', 'echo hello from a pty; echo bye'], {
    stdio: [slave.fd, slave.fd, slave.fd],
  });
  slave.close(); // the child has its own copy
  const [code] = await once(child, 'exit');

  // Everything the child wrote is in the pty: shutdown() reads the rest,
  // calls the close callback (here: stop the kqueue's events), then ends.
  await con.shutdown(kq.closeConsole); // Go: con.Shutdown(kq.CloseConsole)
  await ended;
  await con.close(); // closes the master, which the Console from openPty() owns
  kq.close();
  await waiting;
  console.log(`child exited with ${code}`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
