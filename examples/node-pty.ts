// node-pty spawns the process; kqueue-console does the I/O: every byte of
// output, with backpressure, and the stream ends only after the child has
// exited and the pty has drained.
import { once } from 'node:events';
import * as pty from 'node-pty';
import { fromNodePty } from 'kqueue-console';

async function main(): Promise<void> {
  const child = pty.spawn('sh', ['-c', 'echo "hello from node-pty"; read name; echo "hi $name"; stty size'], {
    cols: 100,
    rows: 30,
  });
  const exited = new Promise<number>((resolve) => child.onExit(({ exitCode }) => resolve(exitCode)));
  const con = fromNodePty(child); // In the same tick as spawn(): no byte goes astray.
  con.pipe(process.stdout, { end: false });
  // Answer the question once it has been asked: the pty echoes input the
  // moment it arrives, so typing early would mix the echo into the greeting.
  let seen = '';
  const answer = (chunk: Buffer): void => {
    seen += chunk.toString();
    if (!seen.includes('hello from node-pty')) return;
    con.off('data', answer);
    con.write('world\n');
  };
  con.on('data', answer);
  await once(con, 'end');
  console.log(`exit code ${await exited}`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
