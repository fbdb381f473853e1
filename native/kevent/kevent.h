// The one place that decides where kqueue(2) and kevent(2) come from.
//
// macOS and the BSDs have them in <sys/event.h>; so does libkqueue, an
// independent implementation for Linux that CI builds the addon against
// (KQC_SYS_EVENT, set by the KQC_LIBKQUEUE CMake option) to run this path
// off the BSDs. Otherwise Linux uses kevent_linux.{h,cc}, the subset the
// shim needs on top of epoll(7). Everything above this header is the same
// source on every platform.
#ifndef KQUEUE_CONSOLE_KEVENT_H_
#define KQUEUE_CONSOLE_KEVENT_H_

#include <errno.h>
#include <stdint.h>

#if defined(KQC_SYS_EVENT) || defined(__APPLE__) || defined(__FreeBSD__) || \
    defined(__OpenBSD__) || defined(__NetBSD__) || defined(__DragonFly__)
// The order is the one kqueue(2) gives on the BSDs (OpenBSD's synopsis
// includes <sys/types.h> first; NetBSD's and libkqueue's <sys/event.h> use
// its types without including it), so the formatter must not sort it.
// test/native/netbsd9/sys/event.h needs <sys/types.h> first too, and CI's
// NetBSD 9 compile of kevent_test.cc, which includes this header first,
// fails if the order changes.
// clang-format off
#include <sys/types.h>
#include <sys/event.h>
#include <sys/time.h>
#include <unistd.h>
// clang-format on

// See kevent_linux.h: the kernel's kqueue fills `data` at no cost.
#define KQC_EV_NODATA 0

#if defined(KQC_SYS_EVENT)
#define KQC_KEVENT_BACKEND "libkqueue"
extern "C" void libkqueue_drain_pending_close(void);

// libkqueue frees a closed kqueue later, from its monitoring thread, and
// until then its fork handler closes the kqueue's fd number in every child
// (linux_libkqueue_fork, src/linux/platform.c): by then that number may be
// one of the pipes uv_spawn() just made, and the spawn fails with EBADF.
// Waiting for the free here closes that window.
inline int kqueue_close(int kq) {
  int rc = close(kq);
  int saved = errno;
  libkqueue_drain_pending_close();
  errno = saved;
  return rc;
}
#else
#define KQC_KEVENT_BACKEND "kernel"
// A kqueue is a plain file descriptor there.
inline int kqueue_close(int kq) { return close(kq); }
#endif

#elif defined(__linux__)
#include "kevent_linux.h"
#define KQC_KEVENT_BACKEND "emulation"
// The built-in emulation, whose own refusals (kevent_linux.h) are tested.
#define KQC_KEVENT_EMULATION 1
#else
#error "kqueue-console needs kqueue(2) (macOS, the BSDs) or epoll(7) (Linux)"
#endif

namespace kqc {

// kevent.udata is `void *` on macOS, FreeBSD, OpenBSD, NetBSD 10, libkqueue
// and the emulation, but `intptr_t` on NetBSD 9 and earlier (its
// sys/event.h). The C-style casts convert to and from either.
using Udata = decltype(static_cast<struct kevent*>(nullptr)->udata);

inline Udata IdToUdata(uint64_t id) {
  return (Udata)(static_cast<uintptr_t>(id));  // NOLINT: see above.
}

inline uint64_t UdataToId(Udata udata) {
  return static_cast<uint64_t>((uintptr_t)udata);  // NOLINT: see above.
}

}  // namespace kqc

#endif  // KQUEUE_CONSOLE_KEVENT_H_
