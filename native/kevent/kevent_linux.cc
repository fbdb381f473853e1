// kqueue(2) and kevent(2) on epoll(7). See kevent_linux.h for the subset.
//
// epoll keeps one registration per (fd, open file) with one event mask and one
// 64-bit cookie; kqueue keeps one knote per (fd, filter), each with its own
// udata. So each kqueue carries a table fd -> Knote with the filters added and
// their udata, and the epoll cookie holds the fd and a generation number of
// the registration. An event whose generation no longer matches the table
// (the fd was deleted, or closed and its number reused, while the event was
// in flight) is dropped, so it can never reach the wrong registration.
//
// EVFILT_PROC watches a pidfd instead, kept in a table of its own (pid ->
// Procnote) and found from the epoll cookie through the pidfd; generations
// come from the same counter, so a cookie names one registration of either
// kind.

#include "kevent_linux.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <deque>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace {

constexpr uint8_t kRead = 1;
constexpr uint8_t kWrite = 2;
constexpr int kMaxEpollEvents = 128;

struct Knote {
  uint32_t gen = 0;
  uint8_t filters = 0;
  uint16_t read_flags = 0;
  bool read_data = true;  // Fill `data` (FIONREAD) for EVFILT_READ.
  uint16_t write_flags = 0;
  void* read_udata = nullptr;
  void* write_udata = nullptr;
};

// pidfd_open(2) came with Linux 5.3; its number is the same on every
// architecture (the unified syscall table from 5.1 on).
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

struct Procnote {
  int pidfd = -1;
  uint32_t gen = 0;
  uint16_t flags = 0;
  void* udata = nullptr;
};

using KnoteMap = std::unordered_map<int, Knote>;

struct Kq {
  explicit Kq(int fd) : epfd(fd) {}
  ~Kq() {
    // The pidfds are the emulation's own, unlike the fds it watches.
    for (auto& p : procs) close(p.second.pidfd);
  }
  const int epfd;
  std::mutex mu;  // Guards everything below.
  KnoteMap knotes;
  std::unordered_map<pid_t, Procnote> procs;
  std::unordered_map<int, pid_t> pidfds;  // pidfd -> pid, for Scan().
  uint32_t next_gen = 1;
  // Events split from one epoll event that did not fit the caller's list;
  // with EV_CLEAR an edge is reported once, so none may be dropped.
  std::deque<struct kevent> overflow;
};

// The registry of kqueues made here. It is never destroyed: another thread
// may still be inside kevent() while static destructors run at exit (one
// thread may wait while another changes registrations, as kqueue allows).
std::mutex g_registry_mu;
std::unordered_map<int, std::shared_ptr<Kq>>& Registry() {
  static auto* registry = new std::unordered_map<int, std::shared_ptr<Kq>>();
  return *registry;
}

std::shared_ptr<Kq> Find(int kq) {
  std::lock_guard<std::mutex> lock(g_registry_mu);
  auto it = Registry().find(kq);
  return it == Registry().end() ? nullptr : it->second;
}

uint8_t FilterBit(int16_t filter) {
  if (filter == EVFILT_READ) return kRead;
  if (filter == EVFILT_WRITE) return kWrite;
  return 0;
}

// EPOLLRDHUP makes a socket peer's shutdown(SHUT_WR) an EOF, as kqueue's
// EVFILT_READ reports it; other fds never raise it.
int Ctl(const Kq& q, int op, int fd, uint8_t filters, uint32_t gen) {
  struct epoll_event ev = {};
  uint32_t mask = EPOLLET;
  if (filters & kRead) mask |= EPOLLIN | EPOLLRDHUP;
  if (filters & kWrite) mask |= EPOLLOUT;
  ev.events = mask;
  ev.data.u64 = (static_cast<uint64_t>(gen) << 32) | static_cast<uint32_t>(fd);
  return epoll_ctl(q.epfd, op, fd, &ev) == 0 ? 0 : errno;
}

void SetFilter(Knote& k, uint8_t bit, const struct kevent& change) {
  uint16_t flags = change.flags & (EV_ADD | EV_CLEAR);
  if (bit == kRead) {
    k.read_flags = flags;
    k.read_data = !(change.flags & KQC_EV_NODATA);
    k.read_udata = change.udata;
  } else {
    k.write_flags = flags;
    k.write_udata = change.udata;
  }
  k.filters |= bit;
}

uint32_t NextGen(Kq& q) {
  uint32_t gen = q.next_gen++;
  if (q.next_gen == 0) q.next_gen = 1;
  return gen;
}

void DropProc(Kq& q, std::unordered_map<pid_t, Procnote>::iterator it) {
  // The pidfd leaves the epoll set when it is closed (its last reference).
  q.pidfds.erase(it->second.pidfd);
  close(it->second.pidfd);
  q.procs.erase(it);
}

// EVFILT_PROC: only NOTE_EXIT; kqueue(2) gives ESRCH for a process that
// does not exist, as pidfd_open(2) does.
int ApplyProc(Kq& q, const struct kevent& change) {
  if (change.ident > static_cast<uintptr_t>(INT_MAX)) return ESRCH;
  pid_t pid = static_cast<pid_t>(change.ident);
  auto it = q.procs.find(pid);
  if (change.flags & EV_DELETE) {
    if (change.flags & EV_ADD) return EINVAL;
    if (it == q.procs.end()) return ENOENT;
    DropProc(q, it);
    return 0;
  }
  if (!(change.flags & EV_ADD) || change.fflags != NOTE_EXIT) return EINVAL;
  if (it != q.procs.end()) {
    it->second.udata = change.udata;
    return 0;
  }
  // Close-on-exec: pidfd_open(2) sets O_CLOEXEC on the fd it returns.
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) return errno;
  Procnote p;
  p.pidfd = pidfd;
  p.gen = NextGen(q);
  p.flags = change.flags & (EV_ADD | EV_CLEAR | EV_ONESHOT);
  p.udata = change.udata;
  struct epoll_event ev = {};
  ev.events = EPOLLIN;
  ev.data.u64 =
      (static_cast<uint64_t>(p.gen) << 32) | static_cast<uint32_t>(pidfd);
  if (epoll_ctl(q.epfd, EPOLL_CTL_ADD, pidfd, &ev) != 0) {
    int err = errno;
    close(pidfd);
    return err;
  }
  q.procs.emplace(pid, p);
  q.pidfds.emplace(pidfd, pid);
  return 0;
}

// EV_DELETE of one filter of `fd`, whose knote is `it`; q.mu held.
int ApplyDelete(Kq& q, int fd, KnoteMap::iterator it, uint8_t bit) {
  if (it == q.knotes.end() || !(it->second.filters & bit)) return ENOENT;
  Knote& k = it->second;
  uint8_t rest = k.filters & ~bit;
  int err = rest ? Ctl(q, EPOLL_CTL_MOD, fd, rest, k.gen)
                 : Ctl(q, EPOLL_CTL_DEL, fd, 0, 0);
  if (err == ENOENT) {
    // The fd was closed and its number reused since it was added: its
    // knotes went away with the old file, as they do in kqueue.
    q.knotes.erase(it);
    return ENOENT;
  }
  if (err != 0) return err;
  if (rest) {
    k.filters = rest;
  } else {
    q.knotes.erase(it);
  }
  return 0;
}

// EV_ADD (with EV_CLEAR) of one filter of `fd`, whose knote is `it` if it
// has one; q.mu held.
int ApplyAdd(Kq& q, int fd, KnoteMap::iterator it, uint8_t bit,
             const struct kevent& change) {
  if (it != q.knotes.end()) {
    // Re-adding modifies the knote and, as in kqueue, re-checks readiness:
    // EPOLL_CTL_MOD reports the fd again if it is ready now.
    Knote& k = it->second;
    int err = Ctl(q, EPOLL_CTL_MOD, fd, k.filters | bit, k.gen);
    if (err == 0) {
      SetFilter(k, bit, change);
      return 0;
    }
    if (err != ENOENT) return err;
    q.knotes.erase(it);  // Stale: the old file is gone; start afresh.
  }
  Knote k;
  k.gen = NextGen(q);
  int err = Ctl(q, EPOLL_CTL_ADD, fd, bit, k.gen);
  if (err != 0) return err;  // EPERM: a regular file or a directory.
  SetFilter(k, bit, change);
  q.knotes.emplace(fd, k);
  return 0;
}

// Applies one change with q.mu held; returns 0 or an errno.
int Apply(Kq& q, const struct kevent& change) {
  if (change.filter == EVFILT_PROC) return ApplyProc(q, change);
  uint8_t bit = FilterBit(change.filter);
  if (bit == 0) return EINVAL;
  if (change.ident > static_cast<uintptr_t>(INT_MAX)) return EBADF;
  int fd = static_cast<int>(change.ident);
  auto it = q.knotes.find(fd);

  // kqueue drops an fd's knotes when the fd is closed, and answers EBADF for
  // any change on an fd that is not open.
  if (fcntl(fd, F_GETFD) == -1) {
    if (it != q.knotes.end()) q.knotes.erase(it);
    return EBADF;
  }

  if (change.flags & EV_DELETE) {
    if (change.flags & EV_ADD) return EINVAL;
    return ApplyDelete(q, fd, it, bit);
  }
  if (change.flags & EV_ADD) {
    // Level-triggered, one-shot and disabled knotes cannot share one epoll
    // registration with an edge-triggered one; they are outside the subset.
    if (!(change.flags & EV_CLEAR) ||
        (change.flags & (EV_ONESHOT | EV_DISABLE))) {
      return EINVAL;
    }
    return ApplyAdd(q, fd, it, bit, change);
  }
  return EINVAL;  // EV_ENABLE or EV_DISABLE alone: outside the subset.
}

intptr_t ReadableBytes(int fd) {
  int n = 0;
  return ioctl(fd, FIONREAD, &n) == 0 ? n : 0;
}

void Emit(Kq& q, struct kevent* out, int nevents, int* n,
          const struct kevent& ev) {
  if (*n < nevents) {
    out[(*n)++] = ev;
  } else {
    q.overflow.push_back(ev);
  }
}

// A pidfd turned readable: its process has exited. Reported once, and the
// knote dropped, as FreeBSD's filt_proc() does for NOTE_EXIT.
void EmitProc(Kq& q, int pidfd, uint32_t gen, struct kevent* out, int nevents,
              int* n) {
  auto by_fd = q.pidfds.find(pidfd);
  if (by_fd == q.pidfds.end()) return;
  auto it = q.procs.find(by_fd->second);
  if (it == q.procs.end() || it->second.gen != gen) return;
  struct kevent ev;
  EV_SET(&ev, it->first, EVFILT_PROC, it->second.flags | EV_EOF | EV_ONESHOT,
         NOTE_EXIT, 0, it->second.udata);
  Emit(q, out, nevents, n, ev);
  DropProc(q, it);
}

int TimeoutMs(const struct timespec* ts) {
  if (ts == nullptr) return -1;
  long long ms = static_cast<long long>(ts->tv_sec) * 1000 +
                 (ts->tv_nsec + 999999) / 1000000;
  if (ms < 0) return 0;
  return ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
}

// The kevents of one epoll event on the knote `k` of `fd`: READ and WRITE
// as its filters and the event say, EV_EOF on a hang-up; q.mu held.
void EmitKnote(Kq& q, int fd, const Knote& k, uint32_t e, struct kevent* out,
               int nevents, int* n) {
  bool hup = e & (EPOLLHUP | EPOLLERR);
  uint32_t so_error = 0;
  if (e & EPOLLERR) {
    int v = 0;
    socklen_t len = sizeof(v);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &v, &len) == 0) so_error = v;
  }
  if ((k.filters & kRead) &&
      (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
    struct kevent ev;
    EV_SET(&ev, fd, EVFILT_READ,
           k.read_flags | ((hup || (e & EPOLLRDHUP)) ? EV_EOF : 0), so_error,
           k.read_data ? ReadableBytes(fd) : 0, k.read_udata);
    Emit(q, out, nevents, n, ev);
  }
  if ((k.filters & kWrite) && (e & (EPOLLOUT | EPOLLHUP | EPOLLERR))) {
    struct kevent ev;
    EV_SET(&ev, fd, EVFILT_WRITE, k.write_flags | (hup ? EV_EOF : 0), so_error,
           0, k.write_udata);
    Emit(q, out, nevents, n, ev);
  }
}

int Scan(Kq& q, struct kevent* out, int nevents,
         const struct timespec* timeout) {
  int n = 0;
  {
    std::lock_guard<std::mutex> lock(q.mu);
    while (n < nevents && !q.overflow.empty()) {
      out[n++] = q.overflow.front();
      q.overflow.pop_front();
    }
  }
  if (n > 0) return n;

  struct epoll_event evs[kMaxEpollEvents];
  int max = nevents < kMaxEpollEvents ? nevents : kMaxEpollEvents;
  int r = epoll_wait(q.epfd, evs, max, TimeoutMs(timeout));
  if (r < 0) return -1;  // EINTR included, as kevent(2) reports it.

  std::lock_guard<std::mutex> lock(q.mu);
  for (int i = 0; i < r; i++) {
    int fd = static_cast<int>(static_cast<uint32_t>(evs[i].data.u64));
    uint32_t gen = static_cast<uint32_t>(evs[i].data.u64 >> 32);
    auto it = q.knotes.find(fd);
    if (it == q.knotes.end() || it->second.gen != gen) {
      EmitProc(q, fd, gen, out, nevents, &n);
    } else {
      EmitKnote(q, fd, it->second, evs[i].events, out, nevents, &n);
    }
  }
  return n;
}

}  // namespace

int kqueue(void) {
  int epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) return -1;
  std::lock_guard<std::mutex> lock(g_registry_mu);
  Registry()[epfd] = std::make_shared<Kq>(epfd);
  return epfd;
}

int kqueue_close(int kq) {
  {
    std::lock_guard<std::mutex> lock(g_registry_mu);
    Registry().erase(kq);
  }
  return close(kq);
}

int kevent(int kq, const struct kevent* changelist, int nchanges,
           struct kevent* eventlist, int nevents,
           const struct timespec* timeout) {
  if (nchanges < 0 || nevents < 0) {
    errno = EINVAL;
    return -1;
  }
  std::shared_ptr<Kq> q = Find(kq);
  if (!q) {
    errno = EBADF;
    return -1;
  }

  // As in FreeBSD's kern_event.c: each failed change (and each change with
  // EV_RECEIPT) becomes an EV_ERROR entry while the event list has room;
  // without room, the first failure ends the call with -1 and errno. When
  // any entry was written, the call returns them without waiting for events.
  int nout = 0;
  if (nchanges > 0) {
    std::lock_guard<std::mutex> lock(q->mu);
    for (int i = 0; i < nchanges; i++) {
      int err = Apply(*q, changelist[i]);
      if (err == 0 && !(changelist[i].flags & EV_RECEIPT)) continue;
      if (nout < nevents) {
        eventlist[nout] = changelist[i];
        eventlist[nout].flags = EV_ERROR;
        eventlist[nout].data = err;
        nout++;
      } else if (err != 0) {
        errno = err;
        return -1;
      }
    }
  }
  if (nout > 0 || nevents == 0) return nout;
  return Scan(*q, eventlist, nevents, timeout);
}
