// The system calls native code reports failures of: an enum whose value
// travels to JavaScript in the status array (addon_data.h), and the names
// exported as `syscalls` so that src/errors.ts can say which call failed.
#ifndef KQUEUE_CONSOLE_SYSCALL_H_
#define KQUEUE_CONSOLE_SYSCALL_H_

#include <stdint.h>

namespace kqc {

// The order is the index into kSyscallNames and is exported as `syscalls`.
enum Syscall : int32_t {
  kSysNone = 0,
  kSysRead,
  kSysWrite,
  kSysWritev,
  kSysKqueue,
  kSysKevent,
  kSysFcntl,
  kSysPosixOpenpt,
  kSysGrantpt,
  kSysUnlockpt,
  kSysPtsname,
  kSysOpen,
  kSysIoctl,
  kSysTcgetattr,
  kSysTcsetattr,
  kSysTtyname,
  kSysClose,
  kSysPipe,
  kSysFork,
  kSysSetsid,
  kSysDup2,
  kSysChdir,
  kSysExecve,
  kSysWaitpid,
  kSysFstat,
  kSysCount
};

inline const char* const kSyscallNames[kSysCount] = {
    "",        "read",  "write",        "writev",    "kqueue",
    "kevent",  "fcntl", "posix_openpt", "grantpt",   "unlockpt",
    "ptsname", "open",  "ioctl",        "tcgetattr", "tcsetattr",
    "ttyname", "close", "pipe",         "fork",      "setsid",
    "dup2",    "chdir", "execve",       "waitpid",   "fstat"};

}  // namespace kqc

#endif  // KQUEUE_CONSOLE_SYSCALL_H_
