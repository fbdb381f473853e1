// A program on a pty slave, started the way a terminal starts one: fork and
// exec in the addon, with no helper program (util-linux's setsid(1) exists
// on Linux only), and the exit reaped here (libuv's SIGCHLD handler reaps
// only the processes libuv started: src/unix/process.c).
#ifndef KQUEUE_CONSOLE_SPAWN_H_
#define KQUEUE_CONSOLE_SPAWN_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "syscall.h"

namespace kqc {

// Everything the child needs, made before fork(): after it the child may
// make only async-signal-safe calls (POSIX fork(2), "Application Usage"), so
// nothing in it allocates.
struct SpawnRequest {
  // The paths to try, in order: the file itself when it has a '/', else one
  // per directory of the PATH the caller chose (execvp's search, done with
  // execve so that the environment given is the one the program gets).
  std::vector<std::string> paths;
  std::vector<std::string> argv;
  std::vector<std::string> envp;
  std::string cwd;  // Empty: the parent's.
  int slave = -1;   // The pty slave: the session's controlling terminal.
};

// Starts the program. Returns 0 with *pid, or an errno with *failed naming
// the step that failed: the parent's (pipe, fork) or the child's (setsid,
// ioctl TIOCSCTTY, dup2, chdir, execve), which the child reports through a
// close-on-exec pipe before it exits (then already reaped here), so that a
// missing program fails the call instead of exiting 127.
int SpawnOnPty(const SpawnRequest& request, pid_t* pid, Syscall* failed);

}  // namespace kqc

#endif  // KQUEUE_CONSOLE_SPAWN_H_
