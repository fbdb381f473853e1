// Reaping: waitpid() for one child (Reap), and the orphans' reaper for the
// children whose Kqueue closed while they ran.
//
// A Kqueue reaps its children at their exit events. When it closes first
// (Kqueuer.close(), or the cleanup hook of a Worker being terminated), its
// kqueue and their knotes go with it, and nothing else in the process would
// ever wait for them: each would stay a zombie until the process exits.
// They are handed here instead: one kqueue of the process's own, watched by
// one thread, started with the first orphan, that waits for NOTE_EXIT and
// reaps. Its thread is woken and joined at exit (atexit); until then it
// costs nothing while no orphan exits.

#include "reaper.h"

#include <errno.h>
#include <fcntl.h>
#if defined(__APPLE__)
#include <dlfcn.h>
#endif
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mutex>

#include "../kevent/kevent.h"
#include "thread.h"

namespace kqc {
namespace {

class Reaper {
 public:
  // Returns false when the reaper cannot run (no kqueue, pipe or thread):
  // then the caller reaps as it can.
  bool Adopt(pid_t pid);
  void Stop();

 private:
  bool StartLocked();
  static void Run(void* arg);

  std::mutex mu_;
  int kq_ = -1;
  int wake_r_ = -1;
  int wake_w_ = -1;
  bool started_ = false;
  bool stopping_ = false;
  Thread thread_;
};

// Never destroyed: atexit() stops its thread first.
Reaper& TheReaper() {
  static Reaper* reaper = new Reaper();
  return *reaper;
}

// The reaper must outlive whatever loaded the library: a Worker's addon is
// dlclose()d with the last Worker, and with it would go the thread, its
// atexit() run at dlclose(), and every orphan not yet reaped. Elsewhere the
// link says so (-z nodelete, CMakeLists.txt); macOS's ld cannot, so the
// library takes one more reference to itself that is never dropped.
void PinThisLibrary() {
#if defined(__APPLE__)
  Dl_info self;
  if (dladdr(reinterpret_cast<void*>(&PinThisLibrary), &self) != 0) {
    dlopen(self.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
  }
#endif
}

bool Reaper::StartLocked() {
  if (started_) return true;
  PinThisLibrary();
  int fds[2];
  kq_ = kqueue();
  if (kq_ < 0) return false;
  if (pipe(fds) != 0) {
    kqueue_close(kq_);
    kq_ = -1;
    return false;
  }
  wake_r_ = fds[0];
  wake_w_ = fds[1];
  fcntl(wake_r_, F_SETFD, FD_CLOEXEC);
  fcntl(wake_w_, F_SETFD, FD_CLOEXEC);
  struct kevent change;
  EV_SET(&change, wake_r_, EVFILT_READ, EV_ADD | EV_CLEAR, 0, 0, IdToUdata(0));
  if (kevent(kq_, &change, 1, nullptr, 0, nullptr) != 0 ||
      thread_.Start(Run, this) != 0) {
    kqueue_close(kq_);
    close(wake_r_);
    close(wake_w_);
    kq_ = wake_r_ = wake_w_ = -1;
    return false;
  }
  started_ = true;
  atexit([] { TheReaper().Stop(); });
  return true;
}

bool Reaper::Adopt(pid_t pid) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_ || !StartLocked()) return false;
  struct kevent change;
  EV_SET(&change, pid, EVFILT_PROC, EV_ADD, NOTE_EXIT, 0, IdToUdata(0));
  if (kevent(kq_, &change, 1, nullptr, 0, nullptr) == 0) return true;
  // ESRCH: it has exited already (macOS refuses a zombie); any other
  // failure (EMFILE for the emulation's pidfd) leaves it to the caller.
  return false;
}

void Reaper::Run(void* arg) {
  Reaper* self = static_cast<Reaper*>(arg);
  struct kevent events[16];
  for (;;) {
    int n = kevent(self->kq_, nullptr, 0, events, 16, nullptr);
    if (n < 0 && errno != EINTR) return;
    for (int i = 0; i < n; i++) {
      if (events[i].filter == EVFILT_PROC) {
        int code, sig;
        // NOTE_EXIT can come a moment before the process is a zombie
        // (FreeBSD's exit1() posts it first): wait for that moment.
        Reap(static_cast<pid_t>(events[i].ident), true, &code, &sig);
      } else {
        std::lock_guard<std::mutex> lock(self->mu_);
        if (self->stopping_) return;
      }
    }
  }
}

void Reaper::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!started_ || stopping_) return;
    stopping_ = true;
  }
  char byte = 0;
  // A full pipe is already a wake-up.
  while (write(wake_w_, &byte, 1) < 0 && errno == EINTR) {
  }
  thread_.Join();
  kqueue_close(kq_);
  close(wake_r_);
  close(wake_w_);
}

}  // namespace

int Reap(pid_t pid, bool block, int* exit_code, int* signal) {
  int status = 0;
  pid_t r;
  do {
    r = waitpid(pid, &status, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return -errno;
  if (r == 0) return 0;
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  *signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  return 1;
}

void AdoptOrphan(pid_t pid) {
  if (TheReaper().Adopt(pid)) return;
  int code, sig;
  // Exited already (or the reaper could not take it): reap it now if it
  // has exited, else leave it; a process that cannot be watched is better
  // left running than waited for on the loop thread.
  Reap(pid, false, &code, &sig);
}

}  // namespace kqc
