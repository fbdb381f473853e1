// The calls native code reports failures of, each as an errno and one of
// these: an enum whose value travels to JavaScript in the status array
// (addon/addon_data.h) or a thrown error's `syscall`, and the names exported
// as `syscalls` so that src/addon/binding.ts can say which call failed. Most
// are system calls; the last few are the libuv, pthread and Node-API calls a
// kqueue's wake-up is set up with.
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
  kSysPoll,
  kSysOpendir,
  kSysSysctl,
  kSysPidfdSendSignal,
  kSysGetsockopt,
  kSysGetsockname,
  kSysUvPollInit,
  kSysUvPollStart,
  kSysUvAsyncInit,
  kSysPthreadCreate,
  kSysNapiCreateThreadsafeFunction,
  kSysNapiGetUvEventLoop,
  kSysCount
};

inline const char* const kSyscallNames[kSysCount] = {
    "",
    "read",
    "write",
    "writev",
    "kqueue",
    "kevent",
    "fcntl",
    "posix_openpt",
    "grantpt",
    "unlockpt",
    "ptsname",
    "open",
    "ioctl",
    "tcgetattr",
    "tcsetattr",
    "ttyname",
    "close",
    "pipe",
    "fork",
    "setsid",
    "dup2",
    "chdir",
    "execve",
    "waitpid",
    "fstat",
    "poll",
    "opendir",
    "sysctl",
    "pidfd_send_signal",
    "getsockopt",
    "getsockname",
    "uv_poll_init",
    "uv_poll_start",
    "uv_async_init",
    "pthread_create",
    "napi_create_threadsafe_function",
    "napi_get_uv_event_loop"};

}  // namespace kqc

#endif  // KQUEUE_CONSOLE_SYSCALL_H_
