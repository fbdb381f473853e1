import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Test } from 'tap';
import { deviation } from './libkqueue';

/** The number of open fds of this process, from /proc/self/fd. */
export function openFdCount(): number {
  // readdirSync itself opens one fd while it reads; it is the same each time.
  return fs.readdirSync('/proc/self/fd').length;
}

/**
 * Asserts that this process has exactly `baseline` fds open again. Against
 * libkqueue, which keeps and frees fds of its own, it is skipped with the
 * reason.
 */
export function fdsBackTo(t: Test, baseline: number, message: string): void {
  t.equal(openFdCount(), baseline, message, { skip: deviation('ownFds') });
}

/**
 * The pty masters this process holds open: fds that link to the ptmx device
 * (pts(4)). Unlike /proc/sys/kernel/pty/nr, the machine's count, it is not
 * moved by the ptys of tests running beside it.
 */
export function ptyMastersOpen(): number {
  return [...openFdLinks()].filter((link) => /=\/dev\/(pts\/)?ptmx$/.test(link)).length;
}

/** The open fd numbers of this process. */
export function openFds(): Set<number> {
  return new Set(fs.readdirSync('/proc/self/fd').map(Number));
}

/**
 * This process's open fds, each as `<fd>=<what it links to>` (a socket or a
 * pipe carries its inode), so that an fd number closed and opened again on
 * something else counts as new.
 */
export function openFdLinks(): Set<string> {
  const links = new Set<string>();
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      links.add(`${fd}=${fs.readlinkSync(`/proc/self/fd/${fd}`)}`);
    } catch {
      // Closed meanwhile (the directory's own fd among them).
    }
  }
  return links;
}

/**
 * Asserts that every fd open now was open at `before` (from openFdLinks()).
 * Unlike fdsBackTo(), an fd that an earlier test's teardown closes meanwhile
 * (Bun closes a socket's fd after its 'close' event) is no failure, and the
 * message names what was left open. Skipped against libkqueue, as fdsBackTo().
 */
export function noFdOpenedSince(t: Test, before: Set<string>, message: string): void {
  const left = [...openFdLinks()].filter((l) => !before.has(l));
  t.same(left, [], message, { skip: deviation('ownFds') });
}

/** Whether `fd` is open in this process. */
export function isOpen(fd: number): boolean {
  try {
    fs.fstatSync(fd);
    return true;
  } catch {
    return false;
  }
}

/** User+system CPU time of this process in milliseconds. */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * CPU time in milliseconds of the thread the library runs on, the loop
 * thread, and how it was read. Unlike process.cpuUsage() this leaves out
 * V8's compiler and GC threads, whose work depends on whatever else the
 * process did before (under ASan, tens of ms in an idle 2 s). Read from
 * /proc/self/task/<pid>/schedstat (nanoseconds), or where the kernel gives no
 * schedstat figure from its stat (utime + stime, 10 ms ticks).
 */
export function loopThreadCpu(): { ms: number; precise: boolean } {
  const task = `/proc/self/task/${process.pid}`;
  try {
    // A kernel without sched_info prints "0 0 0": no figure, not no time
    // (this thread has run the test's setup).
    const ns = Number(fs.readFileSync(`${task}/schedstat`, 'utf8').split(' ')[0]);
    if (ns > 0) return { ms: ns / 1e6, precise: true };
  } catch {
    // No schedstat: the ticks below.
  }
  const stat = fs.readFileSync(`${task}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat).
  return { ms: (ticks * 1000) / 100, precise: false }; // USER_HZ is 100 on Linux.
}

/** A FIFO made in `dir` and opened read-write, non-blocking: a real pipe fd that is not a tty. */
export function openFifo(dir: string): number {
  const fifo = path.join(dir, `fifo-${Math.random().toString(36).slice(2)}`);
  const made = spawnSync('mkfifo', [fifo], { timeout: 10_000 });
  if (made.status !== 0) throw new Error(`mkfifo failed: ${made.stderr}`);
  return fs.openSync(fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
}
