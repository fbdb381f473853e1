// Direct tests of the kqueue(2)/kevent(2) subset the shim relies on, on real
// pipes, socketpairs and ptys. The same checks hold for the BSD kqueue; the
// Linux-only ones (the epoll emulation's refusals) are marked as such.
// Output is TAP; test/native-kevent.test.ts runs it.

#include "../../native/kevent/kevent.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include "tap.h"

namespace {

using tap::Die;
using tap::Ok;

// Built against libkqueue, a check that meets one of its documented
// deviations from the BSD kernels is reported as a TAP skip with the reason
// and its place in libkqueue's source; nothing else is ever skipped.
#if defined(KQC_SYS_EVENT)
constexpr bool kLibkqueue = true;  // kevent.h: only libkqueue defines it.
#else
constexpr bool kLibkqueue = false;
#endif
const char kNotKqueueEnoent[] =
    "an fd that is not a kqueue is ENOENT, not EBADF "
    "(src/common/kevent.c:487)";
const char kErrorEntryWaits[] =
    "a failing change with room in the event list waits for events instead "
    "of returning its EV_ERROR entry (src/common/kevent.c:545-589)";
const char kClosedFdKeepsKnote[] =
    "a closed fd keeps its registration (BUGS.md: \"If a file descriptor "
    "outside of kqueue is closed...\")";
const char kOwnFds[] =
    "its monitoring thread opens and closes fds of its own at any moment, "
    "so the lowest free fd number may be taken (src/linux/platform.c:221)";
const char kFullListLosesEvent[] =
    "with the event list full, the second event of an fd that is both "
    "readable and writable is lost (src/linux/platform.c:1116, 1336, 1347)";

bool Deviates(const std::string& what, const char* reason) {
  if (!kLibkqueue) return false;
  tap::Skip(what, std::string("libkqueue deviation: ") + reason);
  return true;
}

using kqc::Udata;

Udata U(uintptr_t v) { return kqc::IdToUdata(v); }

int Change(int kq, int fd, int filter, unsigned flags, Udata udata) {
  struct kevent c;
  EV_SET(&c, fd, filter, flags, 0, 0, udata);
  return kevent(kq, &c, 1, nullptr, 0, nullptr) == 0 ? 0 : errno;
}

int Poll(int kq, struct kevent* out, int max, long timeout_ms) {
  struct timespec ts = {timeout_ms / 1000, (timeout_ms % 1000) * 1000000L};
  int n = kevent(kq, nullptr, 0, out, max, &ts);
  if (n < 0) Die("kevent");
  return n;
}

bool Has(const struct kevent* ev, int n, int filter, Udata udata) {
  for (int i = 0; i < n; i++) {
    if (static_cast<int>(ev[i].filter) == filter && ev[i].udata == udata) {
      return true;
    }
  }
  return false;
}

void SetNonBlocking(int fd) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

void Drain(int fd) {
  char buf[4096];
  while (read(fd, buf, sizeof(buf)) > 0) {
  }
}

void OpenPty(int* master, int* slave) {
  *master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (*master < 0 || grantpt(*master) != 0 || unlockpt(*master) != 0) {
    Die("posix_openpt");
  }
  *slave = open(ptsname(*master), O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (*slave < 0) Die("open slave");
}

void TestOneEventPerEdge() {
  int kq = kqueue();
  int p[2];
  if (pipe(p) != 0) Die("pipe");
  SetNonBlocking(p[0]);
  Ok(Change(kq, p[0], EVFILT_READ, EV_ADD | EV_CLEAR, U(7)) == 0,
     "EV_ADD|EV_CLEAR of EVFILT_READ on a pipe");
  struct kevent ev[4];
  Ok(Poll(kq, ev, 4, 0) == 0, "nothing to report before data");
  if (write(p[1], "abc", 3) != 3) Die("write");
  int n = Poll(kq, ev, 4, 1000);
  Ok(n == 1 && ev[0].filter == EVFILT_READ &&
         ev[0].ident == static_cast<uintptr_t>(p[0]) && ev[0].udata == U(7),
     "one READ event for the edge, with its udata");
  Ok(n == 1 && ev[0].data == 3, "data is the number of bytes readable");
  Ok(Poll(kq, ev, 4, 50) == 0,
     "with EV_CLEAR the same unread data is not reported again");

  // The same, for a caller that said it does not use `data`: still one
  // event, with its udata; `data` left 0 where filling it costs a syscall.
  Ok(Change(kq, p[0], EVFILT_READ, EV_ADD | EV_CLEAR | KQC_EV_NODATA, U(7)) ==
         0,
     "re-adding with KQC_EV_NODATA");
  Drain(p[0]);
  Ok(Poll(kq, ev, 4, 0) == 0, "reading to EAGAIN makes no event");
  if (write(p[1], "xy", 2) != 2) Die("write");
  n = Poll(kq, ev, 4, 1000);
  Ok(n == 1 && ev[0].filter == EVFILT_READ && ev[0].udata == U(7) &&
         (KQC_EV_NODATA != 0 || ev[0].data == 2) &&
         (KQC_EV_NODATA == 0 || ev[0].data == 0),
     "with KQC_EV_NODATA: the event, and `data` only where it is free");
  Ok(Change(kq, p[0], EVFILT_READ, EV_ADD | EV_CLEAR, U(7)) == 0,
     "re-adding without it");

  Drain(p[0]);
  Ok(Poll(kq, ev, 4, 0) == 0, "reading to EAGAIN makes no event");
  if (write(p[1], "d", 1) != 1) Die("write");
  n = Poll(kq, ev, 4, 1000);
  Ok(n == 1 && ev[0].filter == EVFILT_READ,
     "new data after EAGAIN is a new edge");

  close(p[1]);
  n = Poll(kq, ev, 4, 1000);
  Ok(n == 1 && (ev[0].flags & EV_EOF), "closing the write end sets EV_EOF");
  Ok(Poll(kq, ev, 4, 100) == 0, "the hang-up is reported once, not again");
  close(p[0]);
  kqueue_close(kq);
}

void TestDeleteOneFilter() {
  int kq = kqueue();
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
    Die("socketpair");
  }
  SetNonBlocking(sv[0]);
  struct kevent changes[2];
  EV_SET(&changes[0], sv[0], EVFILT_READ, EV_ADD | EV_CLEAR, 0, 0, U(1));
  EV_SET(&changes[1], sv[0], EVFILT_WRITE, EV_ADD | EV_CLEAR, 0, 0, U(2));
  Ok(kevent(kq, changes, 2, nullptr, 0, nullptr) == 0,
     "READ and WRITE added in one change list");
  struct kevent ev[4];
  int n = Poll(kq, ev, 4, 1000);
  Ok(n == 1 && ev[0].filter == EVFILT_WRITE && ev[0].udata == U(2),
     "a writable socket reports WRITE only, with WRITE's udata");

  if (write(sv[1], "x", 1) != 1) Die("write");
  n = Poll(kq, ev, 4, 1000);
  Ok(Has(ev, n, EVFILT_READ, U(1)),
     "udata is kept per (fd, filter): READ carries READ's udata");
  Ok(!Has(ev, n, EVFILT_WRITE, U(1)),
     "and WRITE, if reported too, never carries READ's udata");

  Ok(Change(kq, sv[0], EVFILT_WRITE, EV_DELETE, U(0)) == 0,
     "EV_DELETE of WRITE");
  if (write(sv[1], "y", 1) != 1) Die("write");
  n = Poll(kq, ev, 4, 1000);
  Ok(n == 1 && ev[0].filter == EVFILT_READ,
     "after deleting WRITE, READ still reports");
  Ok(Change(kq, sv[0], EVFILT_WRITE, EV_DELETE, U(0)) == ENOENT,
     "deleting WRITE twice is ENOENT");
  Ok(Change(kq, sv[0], EVFILT_WRITE, EV_ADD | EV_CLEAR, U(3)) == 0,
     "WRITE added back");
  n = Poll(kq, ev, 4, 1000);
  Ok(Has(ev, n, EVFILT_WRITE, U(3)),
     "re-adding reports current readiness, with the new udata");
  Ok(Change(kq, sv[0], EVFILT_READ, EV_DELETE, U(0)) == 0, "EV_DELETE of READ");
  Drain(sv[0]);
  if (write(sv[1], "z", 1) != 1) Die("write");
  n = Poll(kq, ev, 4, 100);
  Ok(!Has(ev, n, EVFILT_READ, U(1)),
     "after deleting READ, new data makes no READ event");
  Ok(Change(kq, sv[0], EVFILT_WRITE, EV_DELETE, U(0)) == 0,
     "EV_DELETE of the last filter");
  Ok(Change(kq, sv[0], EVFILT_READ, EV_DELETE, U(0)) == ENOENT,
     "deleting what is no longer there is ENOENT");
  close(sv[0]);
  close(sv[1]);
  kqueue_close(kq);
}

void TestPtyHangup() {
  int kq = kqueue();
  int master, slave;
  OpenPty(&master, &slave);
  SetNonBlocking(master);
  struct kevent changes[2];
  EV_SET(&changes[0], master, EVFILT_READ, EV_ADD | EV_CLEAR, 0, 0, U(1));
  EV_SET(&changes[1], master, EVFILT_WRITE, EV_ADD | EV_CLEAR, 0, 0, U(2));
  Ok(kevent(kq, changes, 2, nullptr, 0, nullptr) == 0, "pty master added");
  struct kevent ev[4];
  while (Poll(kq, ev, 4, 50) > 0) {
  }
  if (write(slave, "tail", 4) != 4) Die("write");
  close(slave);
  bool read_eof = false;
  int events = 0;
  for (int n; (n = Poll(kq, ev, 4, 200)) > 0;) {
    for (int i = 0; i < n; i++) {
      events++;
      if (ev[i].filter == EVFILT_READ && (ev[i].flags & EV_EOF)) {
        read_eof = true;
      }
    }
  }
  Ok(read_eof, "closing the slave sets EV_EOF on the master's READ");
  Ok(events <= 4, "the hang-up is reported a bounded number of times (" +
                      std::to_string(events) + ")");
  char buf[16];
  ssize_t r = read(master, buf, sizeof(buf));
  Ok(r == 4 && memcmp(buf, "tail", 4) == 0,
     "bytes written before the hang-up are still readable");
  r = read(master, buf, sizeof(buf));
  Ok(r == -1 && errno == EIO, "then the master read fails with EIO");
  Ok(Poll(kq, ev, 4, 100) == 0, "no event after the hang-up was reported");

  slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) Die("reopen slave");
  if (write(slave, "again", 5) != 5) Die("write");
  bool readable = false;
  for (int n; !readable && (n = Poll(kq, ev, 4, 1000)) > 0;) {
    for (int i = 0; i < n; i++) readable |= ev[i].filter == EVFILT_READ;
  }
  Ok(readable, "reopening the slave and writing is a new READ edge");
  close(slave);
  close(master);
  kqueue_close(kq);
}

// A failing change with room in the event list is an EV_ERROR entry, and the
// call returns at once with the entries, without waiting for events.
void TestErrorEntries(int kq, const int p[2], int closed_fd) {
  struct kevent ev[4];
  struct kevent changes[3];
  EV_SET(&changes[0], p[0], EVFILT_READ, EV_ADD | EV_CLEAR, 0, 0, U(5));
  EV_SET(&changes[1], closed_fd, EVFILT_READ, EV_ADD | EV_CLEAR, 0, 0, U(6));
  EV_SET(&changes[2], p[1], EVFILT_WRITE, EV_DELETE, 0, 0, U(8));
  int n = kevent(kq, changes, 3, ev, 4, nullptr);
  Ok(n == 2,
     "two failing changes give two entries (got " + std::to_string(n) + ")");
  Ok(n == 2 && ev[0].flags == EV_ERROR && ev[0].data == EBADF &&
         ev[0].ident == static_cast<uintptr_t>(closed_fd) &&
         ev[0].udata == U(6),
     "EV_ERROR entry: EBADF in data, ident and udata of the change");
  Ok(n == 2 && ev[1].flags == EV_ERROR && ev[1].data == ENOENT,
     "EV_ERROR entry: ENOENT in data");
  if (write(p[1], "x", 1) != 1) Die("write");
  n = Poll(kq, ev, 4, 1000);
  Ok(n == 1 && ev[0].udata == U(5),
     "the valid change in the same list was applied");
}

void TestErrors() {
  int kq = kqueue();
  struct kevent ev[4];
  struct kevent c;
  int p[2];
  if (pipe(p) != 0) Die("pipe");

  errno = 0;
  const char* not_kq = "kevent on an fd that is not a kqueue is EBADF";
  if (!Deviates(not_kq, kNotKqueueEnoent)) {
    Ok(kevent(p[0], nullptr, 0, ev, 4, nullptr) == -1 && errno == EBADF,
       not_kq);
  }
  int closed_fd = dup(p[0]);
  close(closed_fd);
  Ok(Change(kq, closed_fd, EVFILT_READ, EV_ADD | EV_CLEAR, U(0)) == EBADF,
     "adding a closed fd is EBADF");
  Ok(Change(kq, p[0], EVFILT_READ, EV_DELETE, U(0)) == ENOENT,
     "deleting what was never added is ENOENT");
  Ok(Change(kq, p[0], 42, EV_ADD | EV_CLEAR, U(0)) == EINVAL,
     "an unknown filter is EINVAL");

  if (!Deviates("failing changes are EV_ERROR entries, without waiting",
                kErrorEntryWaits)) {
    TestErrorEntries(kq, p, closed_fd);
  }
  // A list with room for the receipts only, as the shim's Remove() passes:
  // with room to spare, libkqueue would wait (kErrorEntryWaits).
  EV_SET(&c, p[1], EVFILT_WRITE, EV_ADD | EV_CLEAR | EV_RECEIPT, 0, 0, U(0));
  int n = kevent(kq, &c, 1, ev, 1, nullptr);
  // FreeBSD sets flags to EV_ERROR alone, XNU and libkqueue OR it into the
  // change's flags: EV_ERROR is what says "entry".
  Ok(n == 1 && (ev[0].flags & EV_ERROR) && ev[0].data == 0,
     "EV_RECEIPT answers a successful change with data 0");

#if defined(KQC_KEVENT_EMULATION)
  Ok(Change(kq, p[0], EVFILT_READ, EV_ADD, U(0)) == EINVAL,
     "Linux subset: EV_ADD without EV_CLEAR is EINVAL");
  char path[] = "/tmp/kevent-test-XXXXXX";
  int file = mkstemp(path);
  unlink(path);
  Ok(Change(kq, file, EVFILT_READ, EV_ADD | EV_CLEAR, U(0)) == EPERM,
     "Linux subset: a regular file is not pollable (EPERM)");
  close(file);
#endif
  Ok(kqueue_close(kq) == 0, "kqueue_close");
  errno = 0;
  const char* closed_kq = "kevent on a closed kqueue is EBADF";
  if (!Deviates(closed_kq, kNotKqueueEnoent)) {
    Ok(kevent(kq, nullptr, 0, ev, 4, nullptr) == -1 && errno == EBADF,
       closed_kq);
  }
  close(p[0]);
  close(p[1]);
}

void TestFdReuse() {
  int kq = kqueue();
  int p[2];
  if (pipe(p) != 0) Die("pipe");
  int fd = p[0];
  Ok(Change(kq, fd, EVFILT_READ, EV_ADD | EV_CLEAR, U(1)) == 0,
     "old pipe added");
  close(p[0]);
  close(p[1]);
  int q[2];
  if (pipe(q) != 0) Die("pipe");
  const char* reused = "the new pipe reuses the fd number";
  if (!Deviates(reused, kOwnFds)) Ok(q[0] == fd, reused);
  const char* gone = "the closed file's knote is gone (ENOENT), as in kqueue";
  if (!Deviates(gone, kClosedFdKeepsKnote)) {
    Ok(Change(kq, fd, EVFILT_READ, EV_DELETE, U(0)) == ENOENT, gone);
  }
  Ok(Change(kq, fd, EVFILT_READ, EV_ADD | EV_CLEAR, U(2)) == 0,
     "the reused number can be added");
  if (write(q[1], "x", 1) != 1) Die("write");
  struct kevent ev[4];
  // libkqueue's stale knote takes the EV_ADD, and epoll never hears of the
  // new file.
  const char* fresh = "events carry the new udata";
  if (!Deviates(fresh, kClosedFdKeepsKnote)) {
    int n = Poll(kq, ev, 4, 1000);
    Ok(n == 1 && ev[0].udata == U(2), fresh);
  }
  close(q[0]);
  close(q[1]);
  kqueue_close(kq);
}

// A child forked right after kqueue_close() keeps every fd it inherits. On
// the BSDs a child never inherits a kqueue; libkqueue's fork handler closes
// each kqueue's fd in the child until its monitoring thread has freed it, by
// when a closed kqueue's number may be a new pipe's (kevent.h).
void TestForkAfterClose() {
  const int kRuns = 200;
  int lost = 0;
  for (int i = 0; i < kRuns; i++) {
    kqueue_close(kqueue());
    int p[2];
    if (pipe(p) != 0) Die("pipe");
    pid_t pid = fork();
    if (pid < 0) Die("fork");
    if (pid == 0) {
      _exit(fcntl(p[0], F_GETFD) < 0 || fcntl(p[1], F_GETFD) < 0 ? 1 : 0);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid) Die("waitpid");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) lost++;
    close(p[0]);
    close(p[1]);
  }
  Ok(lost == 0, "a child forked right after kqueue_close() keeps its pipes (" +
                    std::to_string(lost) + " of " + std::to_string(kRuns) +
                    " lost one)");
}

void TestSmallEventList() {
  int kq = kqueue();
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
    Die("socketpair");
  }
  if (write(sv[1], "x", 1) != 1) Die("write");
  struct kevent changes[2];
  EV_SET(&changes[0], sv[0], EVFILT_READ, EV_ADD | EV_CLEAR, 0, 0, U(1));
  EV_SET(&changes[1], sv[0], EVFILT_WRITE, EV_ADD | EV_CLEAR, 0, 0, U(2));
  Ok(kevent(kq, changes, 2, nullptr, 0, nullptr) == 0, "socket added");
  struct kevent ev[1];
  int seen = 0;
  for (int i = 0; i < 2; i++) {
    if (Poll(kq, ev, 1, 1000) == 1) seen |= ev[0].filter == EVFILT_READ ? 1 : 2;
  }
  const char* two = "with room for one event, READ and WRITE come in two calls";
  if (!Deviates(two, kFullListLosesEvent)) Ok(seen == 3, two);
  Ok(Poll(kq, ev, 1, 50) == 0, "and nothing more");
  close(sv[0]);
  close(sv[1]);
  kqueue_close(kq);
}

void TestChangesWhileWaiting() {
  int kq = kqueue();
  int wake[2];
  if (pipe(wake) != 0) Die("pipe");
  std::atomic<int> got_udata{0};
  std::atomic<bool> waiting{false};
  std::thread waiter([&] {
    struct kevent ev[4];
    waiting = true;
    int n = kevent(kq, nullptr, 0, ev, 4, nullptr);  // No timeout.
    if (n > 0) got_udata = static_cast<int>(kqc::UdataToId(ev[0].udata));
  });
  while (!waiting) std::this_thread::yield();
  Ok(Change(kq, wake[0], EVFILT_READ, EV_ADD | EV_CLEAR, U(9)) == 0,
     "a change while another thread waits");
  if (write(wake[1], "x", 1) != 1) Die("write");
  waiter.join();
  Ok(got_udata == 9, "the waiting thread sees the event of the new knote");
  close(wake[0]);
  close(wake[1]);
  kqueue_close(kq);
}

// One thread waits in kevent() in a loop while another adds, fires, deletes
// and closes fds thousands of times: the emulation's table under contention
// (ThreadSanitizer runs this), and no event for a deleted knote may carry a
// udata that was never registered.
void TestConcurrentChurn() {
  int kq = kqueue();
  std::atomic<bool> done{false};
  std::atomic<int> seen{0};
  std::atomic<int> bogus{0};
  std::atomic<uintptr_t> highest{0};
  std::thread waiter([&] {
    struct kevent ev[64];
    while (!done) {
      struct timespec ts = {0, 5 * 1000000L};
      int n = kevent(kq, nullptr, 0, ev, 64, &ts);
      for (int i = 0; i < n; i++) {
        uintptr_t u = kqc::UdataToId(ev[i].udata);
        if (u == 0 || u > highest.load()) bogus++;
        seen++;
      }
    }
  });
  const int rounds = 3000;
  for (int i = 1; i <= rounds; i++) {
    int p[2];
    if (pipe(p) != 0) Die("pipe");
    highest = static_cast<uintptr_t>(i);
    Change(kq, p[0], EVFILT_READ, EV_ADD | EV_CLEAR, U(i));
    if (write(p[1], "x", 1) != 1) Die("write");
    if (i % 3 != 0) Change(kq, p[0], EVFILT_READ, EV_DELETE, U(0));
    close(p[0]);
    close(p[1]);
  }
  done = true;
  waiter.join();
  Ok(bogus == 0, "under churn, no event carried a udata never registered (" +
                     std::to_string(seen.load()) + " events seen)");
  kqueue_close(kq);
}

}  // namespace

// EVFILT_PROC/NOTE_EXIT: one event when a child exits, after which the knote
// is gone; the child is still there to reap (the watch does not reap it).
void TestProcExit() {
  int kq = kqueue();
  int gate[2];
  if (pipe(gate) != 0) Die("pipe");
  pid_t pid = fork();
  if (pid < 0) Die("fork");
  if (pid == 0) {
    char c;
    // Waits until the parent says go, then exits with 7.
    _exit(read(gate[0], &c, 1) == 1 ? 7 : 1);
  }
  close(gate[0]);
  struct kevent c;
  EV_SET(&c, pid, EVFILT_PROC, EV_ADD, NOTE_EXIT, 0, U(21));
  Ok(kevent(kq, &c, 1, nullptr, 0, nullptr) == 0,
     "EV_ADD of EVFILT_PROC, NOTE_EXIT on a running child");
  struct kevent ev[4];
  Ok(Poll(kq, ev, 4, 50) == 0, "no event while it runs");
  if (write(gate[1], "g", 1) != 1) Die("write");
  close(gate[1]);
  int n = Poll(kq, ev, 4, 5000);
  Ok(n == 1 && static_cast<int>(ev[0].filter) == EVFILT_PROC &&
         ev[0].ident == static_cast<uintptr_t>(pid) && ev[0].udata == U(21) &&
         (ev[0].fflags & NOTE_EXIT),
     "one NOTE_EXIT event at its exit, with its pid and udata");
  Ok(Poll(kq, ev, 4, 50) == 0, "reported once");
  int status = 0;
  Ok(waitpid(pid, &status, WNOHANG) == pid && WIFEXITED(status) &&
         WEXITSTATUS(status) == 7,
     "the child is left to reap, with its exit status");
  EV_SET(&c, pid, EVFILT_PROC, EV_DELETE, 0, 0, U(0));
  Ok(kevent(kq, &c, 1, nullptr, 0, nullptr) != 0 && errno == ENOENT,
     "its knote went with the event: EV_DELETE is ENOENT");

  // A watch dropped before the exit: no event, and nothing held.
  pid = fork();
  if (pid < 0) Die("fork");
  if (pid == 0) {
    pause();
    _exit(0);
  }
  EV_SET(&c, pid, EVFILT_PROC, EV_ADD, NOTE_EXIT, 0, U(22));
  Ok(kevent(kq, &c, 1, nullptr, 0, nullptr) == 0, "a second child watched");
  EV_SET(&c, pid, EVFILT_PROC, EV_DELETE, 0, 0, U(0));
  Ok(kevent(kq, &c, 1, nullptr, 0, nullptr) == 0, "and the watch deleted");
  kill(pid, SIGKILL);
  Ok(waitpid(pid, &status, 0) == pid && WIFSIGNALED(status),
     "it is killed and reaped");
  Ok(Poll(kq, ev, 4, 50) == 0, "with no event for the deleted watch");

  // A reaped child's pid names no process (unless reused): ESRCH.
  EV_SET(&c, pid, EVFILT_PROC, EV_ADD, NOTE_EXIT, 0, U(23));
  Ok(kevent(kq, &c, 1, nullptr, 0, nullptr) != 0 && errno == ESRCH,
     "EV_ADD for a process that is gone is ESRCH");
  kqueue_close(kq);
}

int main() {
  // The Linux subset's own two checks of TestErrors() are its alone; under
  // libkqueue TestErrorEntries()'s four are one skip (a deviation).
#if defined(KQC_KEVENT_EMULATION)
  tap::Plan(69);
#else
  tap::Plan(kLibkqueue ? 64 : 67);
#endif
  TestOneEventPerEdge();
  TestDeleteOneFilter();
  TestPtyHangup();
  TestErrors();
  TestFdReuse();
  TestForkAfterClose();
  TestSmallEventList();
  TestChangesWhileWaiting();
  TestConcurrentChurn();
  TestProcExit();
  return tap::Done();
}
