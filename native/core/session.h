// The processes of one session, found by its id and signalled: what a
// terminal's hang-up reaches when the shell put each job in its own process
// group (a signal to the leader's group misses them all). Needs neither Node
// nor Node-API.
#ifndef KQUEUE_CONSOLE_SESSION_H_
#define KQUEUE_CONSOLE_SESSION_H_

#include <sys/types.h>

#include "syscall.h"

namespace kqc {

// Sends `sig` (0: only looks) to every live process whose session id is
// `sid`; zombies are skipped. `leader_reaped` says the leader (pid `sid`)
// has been reaped: a process then found with pid `sid` got the number anew,
// which the kernel does only once no process has it as a session or group
// id, so the session is over and nothing is signalled. Returns the number
// of processes signalled, or -errno with *failed naming the call.
int SignalSession(pid_t sid, int sig, bool leader_reaped, Syscall* failed);

}  // namespace kqc

#endif  // KQUEUE_CONSOLE_SESSION_H_
