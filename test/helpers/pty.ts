import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import type { Readable } from 'node:stream';
import { openPty, type Console, type Kqueuer } from '../../src/index';
import { within } from './fixtures';

/** Spawns `cmd` with the slave fd as its stdin, stdout and stderr. */
export function spawnOnSlave(slaveFd: number, cmd: string, args: string[] = []): ChildProcess {
  return spawn(cmd, args, { stdio: [slaveFd, slaveFd, slaveFd] });
}

/** The exit code of a child, once it has exited. */
export async function exitCode(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const [code] = await within<[number | null]>(`${child.spawnfile} exiting`, child, 'exit');
  return code;
}

/** Collects everything a readable stream emits. */
export function collect(stream: Readable): { bytes: () => number; buffer: () => Buffer; text: () => string } {
  const chunks: Buffer[] = [];
  let bytes = 0;
  stream.on('data', (b: Buffer) => {
    chunks.push(b);
    bytes += b.length;
  });
  return {
    bytes: () => bytes,
    buffer: () => Buffer.concat(chunks),
    text: () => Buffer.concat(chunks).toString('utf8'),
  };
}

/**
 * The system call `pid` is blocked in, from /proc/<pid>/syscall: its number,
 * or null while it runs (or when it has exited).
 */
export function blockedSyscall(pid: number): number | null {
  try {
    const first = fs.readFileSync(`/proc/${pid}/syscall`, 'utf8').split(' ')[0];
    return /^\d+$/.test(first) ? Number(first) : null;
  } catch {
    return null;
  }
}

/** write(2)'s number on this machine's architecture. */
export const SYS_WRITE = process.arch === 'arm64' ? 64 : 1;

/** Resident set size of this process in bytes. */
export function rss(): number {
  return process.memoryUsage.rss();
}

/**
 * Full garbage collections, so that a leak check compares what is reachable
 * rather than how far V8 has got with collecting (test-only: the flag is set
 * at run time).
 */
export async function collectGarbage(): Promise<void> {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  // Twice, with a turn of the loop between: finalizers run after a collection.
  gc();
  await new Promise((r) => setImmediate(r));
  gc();
}

/**
 * Why memory figures mean nothing in this run, or null when they do: under
 * AddressSanitizer freed memory stays resident in its quarantine.
 */
export function memoryFiguresUnreliable(): string | null {
  return /libasan/.test(process.env.LD_PRELOAD ?? '') ? 'ASan keeps freed memory resident (quarantine)' : null;
}

/**
 * Runs `cmd` on a fresh pty of `kq` and resolves with all it wrote: the
 * child exits, shutdown() reads the rest, the stream ends. `raw`: the slave
 * in cfmakeraw's mode (the default), as the pty opened (false), or set up by
 * the function given.
 * `onread`: read with the onread option into one reused 16 KiB buffer,
 * copying out what each callback gets, instead of through the stream.
 */
export async function outputOf(
  kq: Kqueuer,
  cmd: string,
  args: string[] = [],
  raw: boolean | ((slave: Console) => void) = true,
  onread = false,
): Promise<Buffer> {
  const { master, slave } = openPty();
  if (typeof raw === 'function') raw(slave);
  else if (raw) slave.setRaw({ opost: false });
  const copies: Buffer[] = [];
  const reused = Buffer.alloc(16 * 1024);
  const con = onread
    ? kq.add(master, { onread: { buffer: reused, callback: (n) => void copies.push(Buffer.from(reused.subarray(0, n))) } })
    : kq.add(master);
  const out = onread ? { buffer: () => Buffer.concat(copies) } : collect(con);
  const ended = within(`the end of ${cmd}'s output`, con, 'end');
  const child = spawnOnSlave(slave.fd, cmd, args);
  slave.close(); // The child has its own copy.
  await exitCode(child);
  await con.shutdown();
  await ended;
  await con.close();
  return out.buffer();
}
