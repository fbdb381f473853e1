// fork/exec of a program on a pty slave; see spawn.h.
//
// The child's steps, each one async-signal-safe (POSIX.1-2017, 2.4.3 lists
// sigaction, sigprocmask, setsid, dup2, fcntl, close, chdir, execve, write
// and _exit; ioctl and getrlimit are plain system calls on every platform
// here):
//   1. every signal's disposition back to SIG_DFL (a handled one would be
//      reset by execve anyway, an ignored one would not: Node ignores
//      SIGPIPE), while all signals stay blocked as the parent blocked them
//      around fork(), so no handler of the parent's runs in the child;
//   2. setsid(): a session and process group of its own, with no
//      controlling terminal;
//   3. TIOCSCTTY on the slave: it becomes the session's controlling terminal
//      (Linux tty_ioctl(4); termios(4) on FreeBSD and macOS), which gives
//      job control, ^C as SIGINT and SIGHUP when the terminal hangs up;
//   4. the slave as fds 0-2, the report pipe moved to fd 3, and every fd
//      from 4 up closed: nothing else of the parent's is inherited, even an
//      fd opened without close-on-exec;
//   5. chdir(), the signal mask emptied, then execve() on each candidate
//      path, as execvp(3) searches (EACCES is remembered while the search
//      goes on; another error than ENOENT/ENOTDIR ends it).
// A failure writes {errno, step} to the pipe and _exit(127)s; the parent
// reads the pipe until execve() closes it (close-on-exec) or a report comes,
// as libuv's uv_spawn() does (src/unix/process.c).

#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(__linux__)
#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#endif

#include "reaper.h"
#include "thread.h"

namespace kqc {
namespace {

struct Report {
  int32_t err;
  int32_t step;  // A Syscall.
};

// The request as the C arrays execve() takes, made before fork().
struct Prepared {
  std::vector<const char*> paths;
  std::vector<char*> argv;
  std::vector<char*> envp;
  const char* cwd = nullptr;
  int slave = -1;
  // For a file execve() refuses with ENOEXEC: /bin/sh, the file, then
  // argv[1..]. Slot 1 is the file tried, stored by the child (a plain store:
  // async-signal-safe), so nothing is allocated after the fork.
  mutable std::vector<char*> sh_argv;
};

// execvp(3)'s shell for a file with no recognised header (POSIX.1-2017,
// exec: "the shell command interpreter"), as glibc's and the BSDs' take it.
char kShell[] = "/bin/sh";

std::vector<char*> CStrings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (const std::string& s : strings)
    out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// Closes every fd from `low` up. Child only: no allocation, no lock.
void CloseFrom(int low) {
#if defined(__FreeBSD__) || defined(__OpenBSD__) || defined(__NetBSD__) || \
    defined(__DragonFly__)
  closefrom(low);
#else
#if defined(__linux__) && defined(SYS_close_range)
  // close_range(2), Linux 5.9; through syscall() so that the binary needs no
  // glibc 2.34 symbol. Older kernels say ENOSYS and take the loop below.
  if (syscall(SYS_close_range, low, ~0U, 0) == 0) return;
#endif
  struct rlimit rl;
  int max = 65536;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
      rl.rlim_cur < static_cast<rlim_t>(INT_MAX)) {
    max = static_cast<int>(rl.rlim_cur);
  }
  for (int fd = low; fd < max; fd++) close(fd);
#endif
}

[[noreturn]] void Fail(int report, int err, Syscall step) {
  Report r = {err, step};
  // Nothing to do if the parent is gone: the exit code still says 127.
  while (write(report, &r, sizeof(r)) < 0 && errno == EINTR) {
  }
  _exit(127);
}

[[noreturn]] void Child(const Prepared& p, int report) {
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++) {
    // SIGKILL, SIGSTOP and the C library's own real-time signals refuse
    // (EINVAL): nothing to reset there.
    if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, nullptr);
  }
  if (setsid() < 0) Fail(report, errno, kSysSetsid);
  if (ioctl(p.slave, TIOCSCTTY, 0) < 0) Fail(report, errno, kSysIoctl);
  for (int fd = 0; fd < 3; fd++) {
    if (dup2(p.slave, fd) < 0) Fail(report, errno, kSysDup2);
  }
  // Both were made >= 3 by the parent, so fds 0-2 took neither. dup2()
  // clears close-on-exec on the copy: set it again.
  if (report != 3) {
    if (dup2(report, 3) < 0) Fail(report, errno, kSysDup2);
    report = 3;
  }
  fcntl(report, F_SETFD, FD_CLOEXEC);
  CloseFrom(4);
  if (p.cwd != nullptr && chdir(p.cwd) < 0) Fail(report, errno, kSysChdir);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);

  int err = ENOENT;
  bool denied = false;
  for (const char* path : p.paths) {
    execve(path, p.argv.data(), p.envp.data());
    err = errno;
    if (err == ENOEXEC) {
      // execvp's rule: a file the kernel does not take (a script with no
      // "#!" line) runs under the shell; the search ends with that file.
      p.sh_argv[1] = const_cast<char*>(path);
      execve(kShell, p.sh_argv.data(), p.envp.data());
      err = errno;
      break;
    }
    if (err == EACCES) {
      denied = true;
    } else if (err != ENOENT && err != ENOTDIR) {
      break;
    }
  }
  Fail(report, denied && (err == ENOENT || err == ENOTDIR) ? EACCES : err,
       kSysExecve);
}

// Under AddressSanitizer the child forks instead: ASan's interceptors (of
// sigaction, among others) take the borrowed stack of a CLONE_VM child for
// an overflow. glibc's posix_spawn() runs such a child in uninstrumented
// libc code; ours is instrumented in a sanitizer build.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define KQC_SPAWN_FORK 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define KQC_SPAWN_FORK 1
#endif
#endif

#if defined(__linux__) && !defined(KQC_SPAWN_FORK)
struct ChildArgs {
  const Prepared* p;
  int report;
};

int CloneChild(void* arg) {
  const ChildArgs* a = static_cast<const ChildArgs*>(arg);
  Child(*a->p, a->report);
}

// The child shares the parent's memory until it execs (CLONE_VM |
// CLONE_VFORK, as glibc's posix_spawn() does on Linux), on a stack of its
// own: no copy of the parent's page tables, which for a Node process is
// most of what fork() costs. The parent's thread waits meanwhile; the
// child's signal handlers are its own (no CLONE_SIGHAND), and it resets
// them before any signal is let in. Its errno is the parent's TLS: the
// parent reads errno only when clone() fails.
pid_t StartChild(const Prepared& p, int report) {
  constexpr size_t kStack = 64 * 1024;
  void* stack = mmap(nullptr, kStack, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) return -1;
  ChildArgs args = {&p, report};
  // The stack grows down on every architecture Linux runs Node on.
  pid_t pid = clone(CloneChild, static_cast<char*>(stack) + kStack,
                    CLONE_VM | CLONE_VFORK | SIGCHLD, &args);
  int err = errno;
  munmap(stack, kStack);
  errno = err;
  return pid;
}
#else
pid_t StartChild(const Prepared& p, int report) {
  pid_t pid = fork();
  if (pid == 0) Child(p, report);
  return pid;
}
#endif

// A close-on-exec pipe whose fds are >= 3, so that the child's dup2() onto
// 0-2 cannot take one.
int ReportPipe(int fds[2]) {
#if defined(__APPLE__)
  // No pipe2() on macOS: a fork() on another thread in between may inherit
  // the fds, which only delays that child's exec report, as libuv's
  // uv__make_pipe() accepts there.
  if (pipe(fds) != 0) return errno;
  fcntl(fds[0], F_SETFD, FD_CLOEXEC);
  fcntl(fds[1], F_SETFD, FD_CLOEXEC);
#else
  if (pipe2(fds, O_CLOEXEC) != 0) return errno;
#endif
  for (int i = 0; i < 2; i++) {
    if (fds[i] >= 3) continue;
    int moved = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
    int err = errno;
    close(fds[i]);
    fds[i] = moved;
    if (moved < 0) {
      if (i == 0)
        close(fds[1]);
      else
        close(fds[0]);
      return err;
    }
  }
  return 0;
}

// The request as the child takes it, all of it made here, before the fork.
void Prepare(const SpawnRequest& request, Prepared* p) {
  for (const std::string& path : request.paths)
    p->paths.push_back(path.c_str());
  p->argv = CStrings(request.argv);
  p->envp = CStrings(request.envp);
  p->sh_argv = {kShell, nullptr};
  p->sh_argv.insert(p->sh_argv.end(),
                    p->argv.begin() + (p->argv.size() > 1 ? 1 : 0),
                    p->argv.end());
  p->cwd = request.cwd.empty() ? nullptr : request.cwd.c_str();
  p->slave = request.slave;
}

}  // namespace

int SpawnOnPty(const SpawnRequest& request, pid_t* pid, Syscall* failed) {
  Prepared p;
  Prepare(request, &p);
  if (p.slave < 3) {
    // The child's dup2() of the slave onto 0-2 would clobber it first: the
    // step that cannot be done is that dup2(), not a call made here.
    *failed = kSysDup2;
    return EINVAL;
  }

  int fds[2];
  int err = ReportPipe(fds);
  if (err != 0) {
    *failed = kSysPipe;
    return err;
  }
  sigset_t all, old;
  sigfillset(&all);
  SetSignalMask(&all, &old);
  pid_t child = StartChild(p, fds[1]);
  int fork_err = errno;
  SetSignalMask(&old, nullptr);
  close(fds[1]);
  if (child < 0) {
    close(fds[0]);
    *failed = kSysFork;
    return fork_err;
  }

  Report r;
  ssize_t n;
  do {
    n = read(fds[0], &r, sizeof(r));
  } while (n < 0 && errno == EINTR);
  close(fds[0]);
  if (n == static_cast<ssize_t>(sizeof(r))) {
    int code, sig;
    Reap(child, true, &code, &sig);  // It has _exit()ed, or is about to.
    *failed = static_cast<Syscall>(r.step);
    return r.err;
  }
  // 0: execve() closed the pipe. A short read cannot happen for a write of
  // under PIPE_BUF bytes (pipe(7)); an error reading is not the child's.
  *pid = child;
  return 0;
}

}  // namespace kqc
