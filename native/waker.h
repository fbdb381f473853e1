// How the loop thread learns that its kqueue has events: the one part of a
// Kqueue that differs between kqueue implementations.
//
// kPoll: the kqueue fd is itself pollable, so a uv_poll_t watches it and the
// loop thread wakes once per batch. FreeBSD's sys/kern/kern_event.c makes it
// so (kqueue_poll() answers POLLIN while the queue holds events), as does
// XNU's bsd/kern/kern_event.c (kqueue_select(), and the kqueue filter that
// lets one kqueue watch another); libuv documents polling its own kqueue fd
// from another loop (uv_backend_fd). The Linux emulation's kqueue is an epoll
// fd, pollable per epoll(7).
//
// kThread: where it is not (libkqueue's kqueue fd is a pipe end that never
// becomes readable), a waiter thread blocks in kevent() and hands what it
// took to the loop through a uv_async_t. It then waits until the loop has
// delivered that batch before it waits on the kqueue again, so the two
// threads never wait on the kqueue at the same time and at most one batch is
// in flight: the rest stays folded in the kernel's knotes, as in kPoll.
//
// The choice is made by probing the kqueue (ProbePollable), not by platform
// name. Depends on libuv and kevent.h only, so that it can be tested, under
// ThreadSanitizer, without Node (test/native/waker_test.cc). The thread, its
// mutex and its condition are libuv's, which Node exports: the addon then
// needs no pthread symbol of glibc 2.34 (where pthread_create got a new
// version), and a prebuilt binary loads on the glibc that Node itself needs.
#ifndef KQUEUE_CONSOLE_WAKER_H_
#define KQUEUE_CONSOLE_WAKER_H_

#include <uv.h>

#include "kevent.h"

namespace kqc {

enum class Wakeup { kAuto = 0, kPoll = 1, kThread = 2 };

// Whether `kq` reads as readable to poll(2) once it holds an event: registers
// a pipe, writes a byte to it and polls the kqueue fd without waiting.
// Returns 0 or an errno; the pipe is gone again either way.
int ProbePollable(int kq, bool* pollable);

class Waker {
 public:
  // On the loop thread, once per wake-up. `taken`: the `count` events the
  // waiter thread already took from the kqueue (kThread; none in kPoll).
  // `error`: non-zero when waiting failed (an errno, or a libuv status
  // turned into one); no more wake-ups follow.
  using OnWake = void (*)(void* arg, const struct kevent* taken, int count,
                          int error);
  // On the loop thread, when the handle has closed and the Waker may be
  // freed.
  using OnClosed = void (*)(void* arg);

  // The events the waiter thread takes per kevent() call.
  static constexpr int kWaitEvents = 256;

  Waker(OnWake on_wake, OnClosed on_closed, void* arg);
  ~Waker();
  Waker(const Waker&) = delete;
  Waker& operator=(const Waker&) = delete;

  // Starts watching `kq` from `loop` (kAuto probes). The handle starts
  // unref'd. Returns 0 or an errno, with the syscall's name in *what. A
  // forced kPoll on a kqueue that is not pollable is ENOTSUP.
  int Start(uv_loop_t* loop, int kq, Wakeup wanted, const char** what);
  Wakeup mode() const { return mode_; }
  void Ref();
  void Unref();
  // Stops waking and lets go of the kqueue fd (joins the waiter thread):
  // before the kqueue is closed. Loop thread; safe from inside OnWake.
  void Stop();
  // Stop(), then closes the handle; OnClosed follows from the loop, or at
  // once when Start() never made one.
  void Close();

 private:
  uv_handle_t* handle();
  static void Wait(void* arg);  // The waiter thread.
  static void OnPoll(uv_poll_t* handle, int status, int events);
  static void OnAsync(uv_async_t* handle);
  static void OnHandleClosed(uv_handle_t* handle);

  const OnWake on_wake_;
  const OnClosed on_closed_;
  void* const arg_;
  Wakeup mode_ = Wakeup::kAuto;
  int kq_ = -1;
  bool handle_open_ = false;
  bool polling_ = false;
  union {
    uv_poll_t poll_;
    uv_async_t async_;
  };

  // kThread. The pipe wakes the waiter thread out of kevent() to stop it.
  int wake_r_ = -1;
  int wake_w_ = -1;
  uv_thread_t waiter_;
  bool waiter_started_ = false;
  uv_sem_t* started_ = nullptr;  // Posted by the thread once it runs.
  uv_mutex_t mu_;
  uv_cond_t handed_back_;
  // Guarded by mu_: a batch the loop has not delivered yet; the waiter's
  // error; whether the waiter must stop.
  bool handed_ = false;
  int count_ = 0;
  int error_ = 0;
  bool stopping_ = false;
  struct kevent events_[kWaitEvents];  // Written by the waiter, read by the
                                       // loop while handed_.
};

}  // namespace kqc

#endif  // KQUEUE_CONSOLE_WAKER_H_
