// The README's usage example: run a command on a new pty and stream its
// output. `npm run example` runs it (built into dist/examples).
import { spawn } from 'kqueue-console';

async function main(): Promise<void> {
  // A program on a new pty: a session of its own, the pty its controlling
  // terminal. `raw`: no echo, no CRLF translation, bytes pass unchanged.
  const child = spawn('sh', ['-c', 'echo hello from a pty; echo bye; exit 3'], { raw: true });

  // The pty master as a stream. It ends by itself once the program has
  // exited and every byte it wrote has been read.
  for await (const chunk of child.console) process.stdout.write(chunk);

  const { exitCode, signal } = await child.exited;
  console.log(`child exited with ${exitCode ?? signal}`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
