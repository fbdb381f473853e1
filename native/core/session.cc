#include "session.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>

#include <vector>

#if defined(__linux__)
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#elif defined(__APPLE__) || defined(__FreeBSD__)
#include <sys/proc.h>
#include <sys/sysctl.h>
#if defined(__FreeBSD__)
#include <sys/user.h>  // FreeBSD's struct kinfo_proc; macOS's is in sysctl.h.
#endif
#endif

namespace kqc {
namespace {

// Whether a process with this pid exists (a zombie too): kill(2) with
// signal 0 checks without sending.
bool Exists(pid_t pid) { return kill(pid, 0) == 0 || errno == EPERM; }

#if defined(__linux__)

// pidfd_open(2) and pidfd_send_signal(2) came with Linux 5.3 and 5.1; their
// numbers are the same on every architecture
// (include/uapi/asm-generic/unistd.h).
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

// The session id and state of `pid` from /proc/<pid>/stat (proc(5)): the
// fields after the command name, which may itself hold ')' and spaces.
bool ReadStat(pid_t pid, pid_t* sid, char* state) {
  char path[32];
  snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[512];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return false;
  buf[n] = '\0';
  const char* p = strrchr(buf, ')');
  int ppid, pgrp, session;
  if (p == nullptr ||
      sscanf(p + 1, " %c %d %d %d", state, &ppid, &pgrp, &session) != 4)
    return false;
  *sid = session;
  return true;
}

// One process, by a pidfd so that the signal reaches the process whose
// session was read, never a later owner of its pid (pidfd_open(2)). Returns
// 1 when signalled, 0 when it is gone or no member, or -errno.
int SignalMember(pid_t pid, pid_t sid, int sig) {
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) return errno == ESRCH ? 0 : -errno;
  // Read again through the pid the pidfd now holds: a member then, or gone.
  pid_t again;
  char state;
  int result = 0;
  if (ReadStat(pid, &again, &state) && again == sid && state != 'Z') {
    if (syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0) == 0) {
      result = 1;
    } else if (errno != ESRCH && errno != EPERM) {
      // EPERM: a member that has changed its uid (su, sudo), out of reach
      // of a signal from here; the pty's own hang-up still reaches it.
      result = -errno;
    }
  }
  close(pidfd);
  return result;
}

#endif

}  // namespace

int SignalSession(pid_t sid, int sig, bool leader_reaped, Syscall* failed) {
  if (sid <= 0) return -EINVAL;
  if (leader_reaped && Exists(sid)) return 0;
  int count = 0;
#if defined(__linux__)
  DIR* dir = opendir("/proc");
  if (dir == nullptr) {
    *failed = kSysOpendir;
    return -errno;
  }
  int err = 0;
  while (struct dirent* entry = readdir(dir)) {
    char* end;
    long pid = strtol(entry->d_name, &end, 10);
    if (pid <= 0 || *end != '\0') continue;
    pid_t member;
    char state;
    if (!ReadStat(static_cast<pid_t>(pid), &member, &state) || member != sid ||
        state == 'Z')
      continue;
    int r = SignalMember(static_cast<pid_t>(pid), sid, sig);
    if (r > 0) count++;
    if (r < 0 && err == 0) err = r;  // Go on with the rest.
  }
  closedir(dir);
  if (err != 0 && count == 0) {
    *failed = kSysPidfdSendSignal;
    return err;
  }
#elif defined(__APPLE__) || defined(__FreeBSD__)
  // The process table filtered by session id (sysctl(3) KERN_PROC_SESSION);
  // it may grow between the two calls, hence the slack and the retry.
  int mib[4] = {CTL_KERN, KERN_PROC, KERN_PROC_SESSION, static_cast<int>(sid)};
  std::vector<struct kinfo_proc> procs;
  for (int attempt = 0;; attempt++) {
    size_t size = 0;
    if (sysctl(mib, 4, nullptr, &size, nullptr, 0) < 0) {
      *failed = kSysSysctl;
      return -errno;
    }
    procs.resize(size / sizeof(struct kinfo_proc) + 16);
    size = procs.size() * sizeof(struct kinfo_proc);
    if (sysctl(mib, 4, procs.data(), &size, nullptr, 0) == 0) {
      procs.resize(size / sizeof(struct kinfo_proc));
      break;
    }
    if (errno != ENOMEM || attempt == 4) {
      *failed = kSysSysctl;
      return -errno;
    }
  }
  for (const struct kinfo_proc& p : procs) {
#if defined(__APPLE__)
    pid_t pid = p.kp_proc.p_pid;
    bool zombie = p.kp_proc.p_stat == SZOMB;
#else
    pid_t pid = p.ki_pid;
    bool zombie = p.ki_stat == SZOMB;
#endif
    // No pidfd here: the pid was a member an instant ago, and a reaped
    // member's pid is reused only after the allocator has gone round.
    if (!zombie && kill(pid, sig) == 0) count++;
  }
#else
  (void)sig;
  *failed = kSysSysctl;
  return -ENOSYS;
#endif
  return count;
}

}  // namespace kqc
