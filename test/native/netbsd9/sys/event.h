// A stand-in for NetBSD 9's <sys/event.h>, reduced to what makes it differ:
// `udata` is an intptr_t (NetBSD 10 made it void *), and EV_SET converts its
// last argument with static_cast (NetBSD's __CAST in C++), so a pointer does
// not compile there. CI compiles the native sources against it (syntax only)
// so that the conversion in native/kevent.h keeps working for both. Written
// from NetBSD's manual page kqueue(2) and the layout it documents; not a copy.
//
// Like NetBSD's (and libkqueue's), it uses types of <sys/types.h> without
// including it: native/kevent.h must include that first, and this check
// makes the compile fail if a reordering (clang-format's include sorting
// did it once) puts it after.
#ifndef KQC_TEST_NETBSD9_SYS_EVENT_H_
#define KQC_TEST_NETBSD9_SYS_EVENT_H_

#if !defined(_SYS_TYPES_H)
#error "<sys/types.h> must be included before <sys/event.h> (kqueue(2))"
#endif

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct kevent {
  uintptr_t ident;
  uint32_t filter;
  uint32_t flags;
  uint32_t fflags;
  int64_t data;
  intptr_t udata;
};

#define EVFILT_READ 0U
#define EVFILT_WRITE 1U
#define EVFILT_PROC 4U

#define NOTE_EXIT 0x80000000U

#define EV_ADD 0x0001U
#define EV_DELETE 0x0002U
#define EV_CLEAR 0x0020U
#define EV_RECEIPT 0x0040U
#define EV_EOF 0x8000U
#define EV_ERROR 0x4000U

static inline void _EV_SET(struct kevent* kevp, uintptr_t ident,
                           uint32_t filter, uint32_t flags, uint32_t fflags,
                           int64_t data, intptr_t udata) {
  kevp->ident = ident;
  kevp->filter = filter;
  kevp->flags = flags;
  kevp->fflags = fflags;
  kevp->data = data;
  kevp->udata = udata;
}

#define EV_SET(kevp, ident, filter, flags, fflags, data, udata)               \
  _EV_SET((kevp), static_cast<uintptr_t>(ident), (filter), (flags), (fflags), \
          (data), static_cast<intptr_t>(udata))

extern "C" {
int kqueue(void);
int kevent(int kq, const struct kevent* changelist, size_t nchanges,
           struct kevent* eventlist, size_t nevents,
           const struct timespec* timeout);
}

#endif  // KQC_TEST_NETBSD9_SYS_EVENT_H_
