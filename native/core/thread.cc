#include "thread.h"

// glibc 2.34 moved pthread_create and pthread_join into libc under a new
// symbol version, which a binary linked here would then need. The prebuilt
// binaries must load on glibc 2.28 (native/portable.cc): they bind the
// versions every glibc since the architecture's first has. Both name the
// same function (glibc's nptl/pthread_create.c, compat_symbol).
#if defined(KQC_PORTABLE) && defined(__linux__) && defined(__GLIBC__)
#if defined(__x86_64__)
__asm__(".symver pthread_create,pthread_create@GLIBC_2.2.5");
__asm__(".symver pthread_join,pthread_join@GLIBC_2.2.5");
#elif defined(__aarch64__)
__asm__(".symver pthread_create,pthread_create@GLIBC_2.17");
__asm__(".symver pthread_join,pthread_join@GLIBC_2.17");
#else
#error "KQC_PORTABLE: no glibc symbol versions known for this architecture"
#endif
#endif

namespace kqc {
namespace {

struct Body {
  void (*fn)(void*);
  void* arg;
};

void* Run(void* p) {
  Body body = *static_cast<Body*>(p);
  delete static_cast<Body*>(p);
  body.fn(body.arg);
  return nullptr;
}

}  // namespace

int Thread::Start(void (*body)(void* arg), void* arg) {
  auto* start = new Body{body, arg};
  // The new thread inherits the mask in force here (pthread_create(3)).
  sigset_t all, old;
  sigfillset(&all);
  SetSignalMask(&all, &old);
  int err = pthread_create(&thread_, nullptr, Run, start);
  SetSignalMask(&old, nullptr);
  if (err != 0) delete start;
  return err;
}

void Thread::Join() { pthread_join(thread_, nullptr); }

// On Linux sigprocmask(2) is per thread, as pthread_sigmask(3) is, and keeps
// the prebuilt binary on glibc 2.28: pthread_sigmask moved into libc with a
// new version at 2.32.
void SetSignalMask(const sigset_t* mask, sigset_t* old) {
#if defined(__linux__)
  sigprocmask(SIG_SETMASK, mask, old);
#else
  pthread_sigmask(SIG_SETMASK, mask, old);
#endif
}

}  // namespace kqc
