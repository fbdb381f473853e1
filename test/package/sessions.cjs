// The `kqueue-console` command as an installed package runs it: `npx
// kqueue-console serve`, then `attach` on a pty (the package's own harness),
// the detach key, `list`; prints "sessions ok" and exits 0, or says what
// did not happen and exits 1.
'use strict';
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Harness } = require('kqueue-console/harness');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kqc-bin-'));
const sock = path.join(dir, 's.sock');
const npx = (args, options) => spawn('npx', ['--no-install', 'kqueue-console', ...args], options);

async function main() {
  // A process group of its own: npx runs the command as its child, and the SIGTERM must reach both
  // (a server left running would hold this script's stdout open, and its caller's wait).
  const server = npx(['serve', '--unix', sock, '--', 'sh', '-c', 'echo from-the-package; exec sleep 60'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true,
  });
  const exited = new Promise((resolve) => server.on('exit', resolve));
  try {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('serve did not listen in 60 s')), 60_000);
      server.stdout.on('data', (d) => String(d).includes('serving') && (clearTimeout(timer), resolve()));
      server.on('exit', (code) => reject(new Error(`serve exited ${code}`)));
    });
    const h = Harness.spawn('npx', { args: ['--no-install', 'kqueue-console', 'attach', '--unix', sock], env: process.env });
    await h.waitFor(/from-the-package/, { timeout: 60_000 });
    await h.send('\x1c');
    await h.expect('[detached from session', { timeout: 30_000 });
    if ((await h.exit({ timeout: 30_000 })) !== 0) throw new Error('attach did not exit 0 on detach');
    const list = JSON.parse(
      execFileSync('npx', ['--no-install', 'kqueue-console', 'list', '--unix', sock, '--json'], { encoding: 'utf8' }),
    );
    if (list.length !== 1 || list[0].writer) throw new Error(`list: ${JSON.stringify(list)}`);
    console.log('sessions ok');
  } finally {
    process.kill(-server.pid, 'SIGTERM');
    await exited;
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err.message);
    process.exit(1);
  },
);
