// How the examples that serve a shell end a session: what their client's
// disconnect, or the server's close, does to the programs the session ran.
//
// The shell leads a session of its own on the pty (spawn()). Closing the
// master hangs that session up: the kernel sends SIGHUP to its foreground
// process group (tty_ioctl(4), the controlling process's exit). A program
// that ignores SIGHUP (`trap '' HUP`, nohup) would outlive the session that
// started it, holding whatever it held; so the shell's process group gets
// SIGHUP at once and, if anything of it is left after a grace period,
// SIGKILL. Processes that left the group or the session on purpose (setsid,
// a job control shell's background jobs in groups of their own) are out of
// reach: the README and SECURITY.md say so.
import type { PtyProcess } from 'kqueue-console';

/** How long a session's programs have after SIGHUP before SIGKILL. */
export const HANGUP_GRACE_MS = 2000;

/** Sends `signal` (0: only checks) to the group; false once nothing is left in it (ESRCH). */
function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Hangs the session up: SIGHUP to the shell's process group now, SIGKILL
 * to what is left of it after `graceMs`. Resolves once the group is gone.
 */
export async function endSession(child: PtyProcess, graceMs = HANGUP_GRACE_MS): Promise<void> {
  // spawn() makes the shell a session and process group leader: its pid is
  // the group's id, and cannot be reused while any member is alive.
  if (!signalGroup(child.pid, 'SIGHUP')) return;
  for (const deadline = Date.now() + graceMs; Date.now() < deadline;) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    if (!signalGroup(child.pid, 0)) return;
  }
  signalGroup(child.pid, 'SIGKILL');
}
