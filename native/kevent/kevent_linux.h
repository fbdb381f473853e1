// kqueue(2) and kevent(2) on Linux, on top of epoll(7): the subset that
// kqueue-console uses, with the semantics of the BSD man page.
//
// Supported:
//   - filters EVFILT_READ and EVFILT_WRITE on pollable file descriptors;
//   - EVFILT_PROC with NOTE_EXIT on a child process, on a pidfd
//     (pidfd_open(2), Linux 5.3): reported once, with EV_EOF|EV_ONESHOT as
//     FreeBSD's filt_proc() sets them, when the process has exited (the pidfd
//     turns readable once it is a zombie); `data` is not filled: the caller
//     reaps it with waitpid(2). The knote is then gone, as in kqueue;
//   - EV_ADD (which must carry EV_CLEAR: registration is edge-triggered, the
//     only mode one epoll registration per fd can give both filters at once),
//     EV_DELETE, and EV_RECEIPT;
//   - EV_EOF on hang-up or error, with `data` the bytes readable (FIONREAD)
//     for EVFILT_READ and `fflags` the pending socket error, if any;
//   - KQC_EV_NODATA, not a kqueue flag: added with EV_ADD of EVFILT_READ, it
//     says the caller does not use `data`, which here costs an ioctl() per
//     event (the kernel's kqueue fills it for free; there the flag is 0);
//   - errors as kqueue reports them: an EV_ERROR entry in the event list
//     (with the errno in `data`) when there is room for it, otherwise -1 and
//     errno; EBADF for a bad kqueue or a closed fd, ENOENT when deleting what
//     was never added, EINVAL for what this subset does not support.
//   - changes from one thread while another thread waits in kevent().
//
// One difference is visible: epoll keeps one registration per fd, and when
// any of its edges fires it reports everything the fd is ready for. So a fd
// with both filters added may see a spurious event of the other filter (a
// socket receiving data is also reported writable; EV_DELETE of one filter
// re-checks, and may report, the other). Spurious events are part of the
// readiness contract the shim follows: it retries and waits for EAGAIN.
//
// A kqueue made here must be closed with kqueue_close(), which also drops the
// per-(fd, filter) bookkeeping that epoll has no room for.
#ifndef KQUEUE_CONSOLE_KEVENT_LINUX_H_
#define KQUEUE_CONSOLE_KEVENT_LINUX_H_

#include <stdint.h>
#include <time.h>

struct kevent {
  uintptr_t ident;  // The file descriptor; EVFILT_PROC: the process id.
  int16_t filter;   // EVFILT_READ, EVFILT_WRITE or EVFILT_PROC.
  uint16_t flags;   // EV_* below.
  uint32_t fflags;  // EV_EOF: the pending socket error, if any; NOTE_EXIT.
  intptr_t data;    // EV_ERROR: the errno. EVFILT_READ: bytes readable.
  void* udata;      // Handed back untouched, per (fd, filter).
};

#define EVFILT_READ (-1)
#define EVFILT_WRITE (-2)
#define EVFILT_PROC (-5)

#define NOTE_EXIT 0x80000000U

#define EV_ADD 0x0001
#define EV_DELETE 0x0002
#define EV_ENABLE 0x0004
#define EV_DISABLE 0x0008
#define EV_ONESHOT 0x0010
#define EV_CLEAR 0x0020
#define EV_RECEIPT 0x0040
#define EV_ERROR 0x4000
#define EV_EOF 0x8000
#define KQC_EV_NODATA 0x1000

#define EV_SET(kevp, a, b, c, d, e, f) \
  do {                                 \
    struct kevent* kev__ = (kevp);     \
    kev__->ident = (a);                \
    kev__->filter = (b);               \
    kev__->flags = (c);                \
    kev__->fflags = (d);               \
    kev__->data = (e);                 \
    kev__->udata = (f);                \
  } while (0)

int kqueue(void);
int kevent(int kq, const struct kevent* changelist, int nchanges,
           struct kevent* eventlist, int nevents,
           const struct timespec* timeout);
int kqueue_close(int kq);

#endif  // KQUEUE_CONSOLE_KEVENT_LINUX_H_
