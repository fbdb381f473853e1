// Reaping the children spawn() starts: waitpid() for one, and the orphans'
// reaper for those whose Kqueue closed while they ran. Needs neither Node nor
// Node-API, so that it can be tested on its own (test/native/reaper_test.cc).
#ifndef KQUEUE_CONSOLE_REAPER_H_
#define KQUEUE_CONSOLE_REAPER_H_

#include <sys/types.h>

namespace kqc {

// waitpid(2) for one child: 1 with its exit code (or -1) and terminating
// signal (or 0) once reaped; 0 while it runs (unless `block`); or -errno.
int Reap(pid_t pid, bool block, int* exit_code, int* signal);

// Reaps `pid` later, whatever happens to its Kqueue: for the children still
// running when the Kqueue that watched them closes (Kqueuer.close(), a
// Worker's teardown).
void AdoptOrphan(pid_t pid);

}  // namespace kqc

#endif  // KQUEUE_CONSOLE_REAPER_H_
