// The TAP output of the native test binaries (kevent_test, waker_test):
// test/native-kevent.test.ts mirrors each line into the suite.
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

// Prints the plan; the exit status of main().
inline int Done() {
  printf("1..%d\n", g_test);
  return g_failed == 0 ? 0 : 1;
}

}  // namespace tap

#endif  // KQUEUE_CONSOLE_TEST_NATIVE_TAP_H_
