import * as fs from 'node:fs';

/** The number of open fds of this process, from /proc/self/fd. */
export function openFdCount(): number {
  // readdirSync itself opens one fd while it reads; it is the same each time.
  return fs.readdirSync('/proc/self/fd').length;
}

/** The open fd numbers of this process. */
export function openFds(): Set<number> {
  return new Set(fs.readdirSync('/proc/self/fd').map(Number));
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
