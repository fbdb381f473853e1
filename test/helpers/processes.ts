/**
 * This process's children as /proc shows them. Imports nothing of the
 * library, so that a fixture whose main thread must not load it can use it.
 */
import * as fs from 'node:fs';

/** This process's children, running or not yet reaped, with their states (ps(1)'s letters). */
export function children(): { pid: number; state: string }[] {
  const found: { pid: number; state: string }[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces and parentheses.
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) === process.pid) found.push({ pid: Number(name), state });
    } catch {
      // Gone while the list was read.
    }
  }
  return found;
}

/** This process's children that are zombies: exited, never reaped. */
export function zombies(): number[] {
  return children()
    .filter((c) => c.state === 'Z')
    .map((c) => c.pid);
}

/** The live (not zombie) processes whose session id is `sid`. */
export function sessionMembers(sid: number): number[] {
  const found: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const [state, , , session] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(session) === sid && state !== 'Z') found.push(Number(name));
    } catch {
      // Gone while the list was read.
    }
  }
  return found;
}
