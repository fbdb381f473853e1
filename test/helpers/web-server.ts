/**
 * The web terminal example's server as its own process, as `npm run web`
 * starts it, and what /proc says of it: its memory, pty masters and
 * children. Used by the browser test and the attack test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { waitUntil } from './fixtures';

/** Debian's chromium, driven by playwright-core (which downloads nothing: it is pointed at it). */
export const CHROMIUM = process.env.KQC_CHROMIUM ?? '/usr/bin/chromium';
/** Why a browser test is skipped, or false. */
export const NO_BROWSER = fs.existsSync(CHROMIUM) ? false : `no browser at ${CHROMIUM} (Debian package chromium; .ci/run installs it)`;

/** Chromium, headless, closed by the teardown. It gets no sanitizer runtime preloaded. */
export async function launchChromium(teardown: (fn: () => unknown) => void): Promise<Browser> {
  const { LD_PRELOAD: _preload, ...env } = process.env;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    env: env as Record<string, string>,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  teardown(() => browser.close());
  return browser;
}

const root = path.join(__dirname, '..', '..');
export const PROMPT = 'web$ ';

export function rssOf(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return kb ? Number(kb[1]) * 1024 : 0;
}

/** The pty masters a process holds open (links to /dev/ptmx or /dev/pts/ptmx). */
export function ptyMastersOf(pid: number): number {
  let n = 0;
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (/ptmx$/.test(fs.readlinkSync(`/proc/${pid}/fd/${fd}`))) n++;
    } catch {
      // Closed while listed.
    }
  }
  return n;
}

export function childrenOf(pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * The server, started as a user starts it; what it printed so far. Its
 * sessions end with their pages (`--linger 0`) unless `serverArgs` says
 * how long they linger.
 */
export async function startServer(
  teardown: (fn: () => void) => void,
  command: string[] = ['sh', '-i'],
  serverArgs: string[] = [],
): Promise<{ proc: ChildProcess; port: number; token: string; url: string; out: () => string }> {
  const linger = serverArgs.includes('--linger') ? [] : ['--linger', '0'];
  const proc = spawn(
    process.execPath,
    [path.join(root, 'dist', 'examples', 'web-terminal.js'), ...linger, ...serverArgs, '--', ...command],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        PS1: PROMPT,
        LANG: 'C.UTF-8',
        // Under `npm run test:asan`, the server runs the sanitized addon too.
        ...Object.fromEntries(
          ['KQUEUE_CONSOLE_ADDON', 'LD_PRELOAD', 'ASAN_OPTIONS', 'UBSAN_OPTIONS']
            .filter((k) => process.env[k] !== undefined)
            .map((k) => [k, process.env[k]]),
        ),
      },
    },
  );
  teardown(() => {
    if (proc.exitCode === null) proc.kill('SIGTERM');
  });
  let out = '';
  proc.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  await waitUntil('the server printing its URL', () => /open (http:\S+)/.test(out));
  const url = /open (http:\S+)/.exec(out)![1];
  const { port, hash } = new URL(url);
  return { proc, port: Number(port), token: new URLSearchParams(hash.slice(1)).get('token')!, url, out: () => out };
}
