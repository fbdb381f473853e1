#!/usr/bin/env node
/**
 * The `kqueue-console` command: sessions that outlive their clients.
 *
 *   kqueue-console serve [--unix PATH | --port N] [--web [--web-port N]] [--linger D] [--max-sessions N] [--scrollback N] [-- program args]
 *   kqueue-console attach [--unix PATH | --port N] [--session ID|NAME] [--new] [--read-only] [--detach-key KEY]
 *   kqueue-console list [--unix PATH | --port N] [--json]
 *
 * Without --unix or --port, the socket is `kqueue-console/default.sock` in
 * $XDG_RUNTIME_DIR, or in a directory of mode 0700 of this user's under
 * the temporary directory (as tmux keeps its own). On a port the token
 * comes from KQUEUE_CONSOLE_TOKEN or --token-file, never the command line.
 * @module
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { current } from '../tty/console';
import { type Address, readTokenFile, writeTokenFile } from '../server/access';
import { attachSession, listSessions, type SessionClient } from '../server/client';
import { serveSessions } from '../server/serve';
import type { SessionInfo } from '../server/session';

export const TOKEN_ENV = 'KQUEUE_CONSOLE_TOKEN';
/** Ctrl-\, as dtach's and abduco's. */
const DEFAULT_DETACH = 0x1c;
/** Leaves the modes a program set on the user's terminal: alternate screen, mouse, keys, pen, region, charset. */
const LEAVE =
  '\x1b[?1049l\x1b[?25h\x1b[?9l\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?1016l\x1b[?2004l\x1b[?1004l\x1b[?1l\x1b>\x1b[r\x1b[0m\x1b(B\x0f\r\n';

const USAGE = `usage:
  kqueue-console serve [--unix PATH | --port N] [--web [--web-port N]] [--linger D] [--max-sessions N] [--max-pending N] [--auth-timeout-ms N] [--scrollback N] [--token-file F] [-- program args]
  kqueue-console attach [--unix PATH | --port N] [--session ID|NAME] [--new] [--read-only] [--detach-key KEY] [--token-file F]
  kqueue-console list [--unix PATH | --port N] [--json] [--token-file F]
--web: the browser terminal on the same sessions, at the URL printed (it holds the token).
D: a duration, 90s, 15m, 2h (0: a session ends with its last client). KEY: ^X for Ctrl-X (default ^\\), or none.
On a port the token comes from ${TOKEN_ENV} or --token-file (mode 0600), never the command line.`;

class UsageError extends Error {}

interface Args {
  command: string;
  listen?: Address;
  flags: Map<string, string | true>;
  program: string[];
  detachKey?: number | null;
  lingerMs?: number;
  maxSessions?: number;
  maxPending?: number;
  authTimeoutMs?: number;
  scrollback?: number;
  webPort?: number;
}

const VALUED = new Set([
  '--unix',
  '--port',
  '--web-port',
  '--linger',
  '--max-sessions',
  '--max-pending',
  '--auth-timeout-ms',
  '--scrollback',
  '--session',
  '--detach-key',
  '--token-file',
]);
const SWITCHES = new Set(['--new', '--read-only', '--json', '--web']);

export function parseArgs(argv: string[]): Args {
  const [command = '', ...rest] = argv;
  const out: Args = { command, flags: new Map(), program: [] };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === '--') {
      out.program = rest.slice(i + 1);
      break;
    }
    if (a === '--token')
      throw new UsageError(
        `--token: a token on the command line is readable by every user (/proc/<pid>/cmdline); use ${TOKEN_ENV} or --token-file`,
      );
    if (SWITCHES.has(a)) out.flags.set(a, true);
    else if (VALUED.has(a) && i + 1 < rest.length) out.flags.set(a, rest[++i]);
    else throw new UsageError(`${a}: ${VALUED.has(a) ? 'needs a value' : 'unknown argument'}`);
  }
  const unix = out.flags.get('--unix');
  const port = out.flags.get('--port');
  if (unix !== undefined && port !== undefined) throw new UsageError('--unix and --port: one or the other');
  if (typeof port === 'string') out.listen = { host: '127.0.0.1', port: integer('--port', port, 0, 65535) };
  else if (typeof unix === 'string') out.listen = { path: unix };
  // Every value is checked before anything is done with any of them.
  const key = out.flags.get('--detach-key');
  out.detachKey = typeof key === 'string' ? parseDetachKey(key) : DEFAULT_DETACH;
  const linger = out.flags.get('--linger');
  if (typeof linger === 'string') out.lingerMs = parseDuration(linger);
  out.maxSessions = numberFlag(out, '--max-sessions', 1, 65536);
  out.maxPending = numberFlag(out, '--max-pending', 1, 65536);
  out.authTimeoutMs = numberFlag(out, '--auth-timeout-ms', 1, 2 ** 31 - 1);
  out.scrollback = numberFlag(out, '--scrollback', 0, 1_000_000);
  out.webPort = numberFlag(out, '--web-port', 0, 65535);
  if (out.webPort !== undefined && !out.flags.has('--web')) throw new UsageError('--web-port: with --web');
  return out;
}

function integer(flag: string, value: string, min: number, max: number): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(n >= min && n <= max)) throw new UsageError(`${flag} ${value}: an integer from ${min} to ${max}`);
  return n;
}

/** 90s, 15m, 2h, 500ms, or seconds alone. */
export function parseDuration(value: string): number {
  const m = /^(\d+)(ms|s|m|h)?$/.exec(value);
  if (m === null) throw new UsageError(`--linger ${value}: a duration such as 90s, 15m or 2h`);
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const ms = Number(m[1]) * unit[m[2] ?? 's'];
  if (ms > 2 ** 31 - 1) throw new UsageError(`--linger ${value}: at most 24 days`);
  return ms;
}

/** ^X for a control key, one character for itself, none for no detach key. */
export function parseDetachKey(value: string): number | null {
  if (value === 'none') return null;
  const m = /^\^([@A-Za-z[\\\]^_?])$/.exec(value);
  if (m !== null) return m[1] === '?' ? 0x7f : m[1].toUpperCase().charCodeAt(0) & 0x1f;
  if (value.length === 1 && value.charCodeAt(0) < 0x80) return value.charCodeAt(0);
  throw new UsageError(`--detach-key ${value}: ^X for Ctrl-X, one ASCII character, or none`);
}

/** The default socket: in $XDG_RUNTIME_DIR, else a directory of this user's, mode 0700, made if missing. */
export function defaultSocket(): string {
  const runtime = process.env.XDG_RUNTIME_DIR;
  const uid = process.getuid?.() ?? 0;
  const dir = runtime ? path.join(runtime, 'kqueue-console') : path.join(os.tmpdir(), `kqueue-console-${uid}`);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = fs.lstatSync(dir);
  if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o077) !== 0) {
    throw new UsageError(`${dir}: not a directory of this user's with mode 0700; give --unix PATH`);
  }
  return path.join(dir, 'default.sock');
}

function tokenOf(args: Args): string | undefined {
  const file = args.flags.get('--token-file');
  if (typeof file === 'string') return readTokenFile(file);
  const env = process.env[TOKEN_ENV];
  return env ? env : undefined;
}

function numberFlag(args: Args, flag: string, min: number, max: number): number | undefined {
  const v = args.flags.get(flag);
  return typeof v === 'string' ? integer(flag, v, min, max) : undefined;
}

async function serve(args: Args): Promise<void> {
  const listen = args.listen ?? { path: defaultSocket() };
  const [command, ...programArgs] = args.program.length ? args.program : [process.env.SHELL ?? 'sh', '-i'];
  const { [TOKEN_ENV]: _token, ...env } = process.env;
  const server = await serveSessions({
    command,
    args: programArgs,
    env,
    listen,
    token: tokenOf(args),
    lingerMs: args.lingerMs,
    maxSessions: args.maxSessions,
    maxPending: args.maxPending,
    authTimeoutMs: args.authTimeoutMs,
    scrollback: args.scrollback,
    web: args.flags.has('--web') ? { port: args.webPort ?? 0 } : undefined,
    log: (line) => console.log(line),
  });
  const where = 'path' in server.address ? `--unix ${server.address.path}` : `--port ${server.address.port}`;
  console.log(`serving ${command} on ${where}`);
  if (server.web !== undefined) console.log(`browser: open ${server.web.url}`);
  const file = 'port' in server.address && tokenOf(args) === undefined ? writeTokenFile(server.token) : null;
  if (file !== null) console.log(`token in ${file} (mode 0600): attach ${where} --token-file ${file}`);
  const stop = (): void => {
    if (file !== null) fs.rmSync(path.dirname(file), { recursive: true, force: true });
    void server.close();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

async function list(args: Args): Promise<void> {
  const sessions = await listSessions(args.listen ?? { path: defaultSocket() }, tokenOf(args));
  if (args.flags.has('--json')) {
    console.log(JSON.stringify(sessions, null, 2));
    return;
  }
  const age = (ms: number): string =>
    ms < 120_000 ? `${Math.round(ms / 1000)}s` : ms < 7_200_000 ? `${Math.round(ms / 60_000)}m` : `${Math.round(ms / 3_600_000)}h`;
  const now = Date.now();
  const row = (s: SessionInfo): string =>
    [s.name, s.id, s.command.join(' '), age(now - s.startedAt), `${s.writer ? 1 : 0}+${s.viewers}`, `${s.cols}x${s.rows}`].join('\t');
  console.log(['NAME', 'ID', 'PROGRAM', 'AGE', 'CLIENTS', 'SIZE'].join('\t'));
  for (const s of sessions) console.log(row(s));
}

/**
 * Attaches this terminal: raw mode (restored at the end), the screen
 * restored, keys sent (a viewer's are not), the detach key leaves the
 * session running. Resolves when detached or the session ended.
 */
async function attach(args: Args): Promise<void> {
  // What can be wrong with the arguments is said before the terminal is looked at.
  const address = args.listen ?? { path: defaultSocket() };
  const token = tokenOf(args);
  const term = current();
  const out = process.stdout;
  const detachKey = args.detachKey ?? null;
  const readOnly = args.flags.has('--read-only');
  let ended = '';
  const session = args.flags.get('--session');
  const { client, welcome } = await attachSession(
    address,
    {
      session: typeof session === 'string' ? session : undefined,
      new: args.flags.has('--new'),
      readOnly,
      size: readOnly ? undefined : term.size(),
      token,
    },
    {
      // A fresh terminal (RIS) is what a snapshot is made for.
      screen: (screen) => out.write(`\x1bc${screen}`),
      output: (chunk) => out.write(chunk),
      exit: (code, signal) => (ended = `[the session's program ended: ${signal ?? `exit code ${code}`}]`),
    },
  );
  term.setRaw({ opost: false });
  const restore = (): void => term.reset();
  process.once('exit', restore);
  const sendSize = (): void => client.resize(term.size());
  if (welcome.role === 'writer') process.on('SIGWINCH', sendSize);
  const keys = forwardKeys(client, welcome.role === 'writer', detachKey);
  const [err] = (await new Promise((resolve) => client.once('close', (e) => resolve([e])))) as [Error | undefined];
  keys.stop();
  process.off('SIGWINCH', sendSize);
  restore();
  process.off('exit', restore);
  out.write(LEAVE);
  if (err !== undefined) throw err;
  console.log(keys.detached ? `[detached from session ${welcome.name}]` : ended || `[session ${welcome.name} ended]`);
}

/** This terminal's keys to the session (a viewer's are not sent) up to the detach key, which detaches. */
function forwardKeys(client: SessionClient, writer: boolean, detachKey: number | null): { readonly detached: boolean; stop(): void } {
  let detached = false;
  const onKeys = (data: Buffer): void => {
    const at = detachKey === null ? -1 : data.indexOf(detachKey);
    const keys = at < 0 ? data : data.subarray(0, at);
    if (keys.length > 0 && writer) client.write(keys);
    if (at >= 0) {
      detached = true;
      client.close();
    }
  };
  process.stdin.on('data', onKeys);
  return {
    get detached() {
      return detached;
    },
    stop() {
      process.stdin.off('data', onKeys);
      process.stdin.pause();
    },
  };
}

export async function main(argv: string[]): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(argv);
    if (args.command === 'serve') await serve(args);
    else if (args.command === 'attach') await attach(args);
    else if (args.command === 'list') await list(args);
    else throw new UsageError(args.command ? `${args.command}: no such command` : 'a command, please');
    return 0;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    console.error(`kqueue-console: ${e.message}${e.code ? ` (${e.code})` : ''}`);
    if (err instanceof UsageError) console.error(USAGE);
    return err instanceof UsageError ? 2 : 1;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
