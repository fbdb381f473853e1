// The TAP output of the native test binaries (kevent_test, waker_test,
// reaper_test): test/native-kevent.test.ts mirrors each line into the suite.
#ifndef KQUEUE_CONSOLE_TEST_NATIVE_TAP_H_
#define KQUEUE_CONSOLE_TEST_NATIVE_TAP_H_

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <string>

namespace tap {

inline int g_test = 0;
inline int g_failed = 0;
inline int g_planned = -1;

// Prints the plan, before any check: how many checks this run must make,
// declared by the binary, so that one that never ran is seen (a plan printed
// at the end from the count would always agree).
inline void Plan(int checks) {
  g_planned = checks;
  printf("1..%d\n", checks);
  fflush(stdout);
}

inline void Ok(bool cond, const std::string& what) {
  g_test++;
  if (!cond) g_failed++;
  printf("%s %d - %s\n", cond ? "ok" : "not ok", g_test, what.c_str());
  fflush(stdout);
}

// A TAP skip: the check was not made, for `reason`.
inline void Skip(const std::string& what, const std::string& reason) {
  g_test++;
  printf("ok %d - %s # SKIP %s\n", g_test, what.c_str(), reason.c_str());
  fflush(stdout);
}

[[noreturn]] inline void Die(const char* what) {
  printf("Bail out! %s: %s\n", what, strerror(errno));
  exit(1);
}

// The exit status of main(): 1 when a check failed, or when the checks made
// are not the ones planned.
inline int Done() {
  if (g_test != g_planned) {
    printf("# planned %d checks, made %d\n", g_planned, g_test);
    return 1;
  }
  return g_failed == 0 ? 0 : 1;
}

}  // namespace tap

#endif  // KQUEUE_CONSOLE_TEST_NATIVE_TAP_H_
