// The one place that decides where kqueue(2) and kevent(2) come from.
//
// macOS and the BSDs have them in <sys/event.h>. Linux has no kqueue and no
// packaged compatibility library is available to this project, so
// kevent_linux.{h,cc} implement the subset the shim uses on top of epoll(7).
// Everything above this header is the same source on every platform.
#ifndef KQUEUE_CONSOLE_KEVENT_H_
#define KQUEUE_CONSOLE_KEVENT_H_

#if defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || \
    defined(__NetBSD__) || defined(__DragonFly__)
#include <sys/event.h>
#include <sys/time.h>
#include <sys/types.h>
#include <unistd.h>

// A kqueue is a plain file descriptor there.
inline int kqueue_close(int kq) { return close(kq); }

// See kevent_linux.h: the kernel's kqueue fills `data` at no cost.
#define KQC_EV_NODATA 0

#elif defined(__linux__)
#include "kevent_linux.h"
#else
#error "kqueue-console needs kqueue(2) (macOS, the BSDs) or epoll(7) (Linux)"
#endif

#endif  // KQUEUE_CONSOLE_KEVENT_H_
