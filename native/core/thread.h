// A joinable thread and a condition on pthreads, for the waker's waiter and
// the orphans' reaper. Not libuv's: Bun and Deno load Node-API addons but
// have no libuv (Bun panics on uv_thread_create), and the waiter must run
// there. Not std::thread and std::condition_variable either: their libstdc++
// symbols are newer than the prebuilt binaries may need
// (scripts/prebuild.mjs; condition_variable::wait is GLIBCXX_3.4.30).
#ifndef KQUEUE_CONSOLE_THREAD_H_
#define KQUEUE_CONSOLE_THREAD_H_

#include <pthread.h>
#include <signal.h>

#include <mutex>

namespace kqc {

class Thread {
 public:
  Thread() = default;
  Thread(const Thread&) = delete;
  Thread& operator=(const Thread&) = delete;

  // Runs `body(arg)` on a new thread with every signal blocked: signals are
  // the loop thread's to take (Node's SIGINT, SIGCHLD and the rest). Returns
  // 0 or an errno.
  int Start(void (*body)(void* arg), void* arg);
  // Waits for the body to return. Only after a Start() that returned 0.
  void Join();

 private:
  pthread_t thread_;
};

// A condition waited on under a std::mutex.
class CondVar {
 public:
  CondVar() { pthread_cond_init(&cond_, nullptr); }
  ~CondVar() { pthread_cond_destroy(&cond_); }
  CondVar(const CondVar&) = delete;
  CondVar& operator=(const CondVar&) = delete;

  // Waits until `done()` holds; `lock` holds its mutex.
  template <typename Done>
  void Wait(std::unique_lock<std::mutex>& lock, Done done) {
    while (!done()) pthread_cond_wait(&cond_, lock.mutex()->native_handle());
  }
  void Signal() { pthread_cond_signal(&cond_); }

 private:
  pthread_cond_t cond_;
};

// Sets this thread's signal mask (SIG_SETMASK), as pthread_sigmask(3) does.
void SetSignalMask(const sigset_t* mask, sigset_t* old);

}  // namespace kqc

#endif  // KQUEUE_CONSOLE_THREAD_H_
