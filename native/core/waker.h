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
// took to the loop through a uv_async_t. It waits on the kqueue again at
// once, into a second list, while the loop delivers the first: a round trip
// wakes it once, not a second time when the loop hands the list back. At
// most two batches are in flight, and the rest stays folded in the kernel's
// knotes, as in kPoll. It waits for the hand-back behind a full list (the
// loop thread then empties the kqueue itself, and the two threads never
// wait on the kqueue at the same time), and behind a list that came while
// the loop was still delivering another: a busy loop (a bulk read) would
// only have it wake for every new edge, which the kernel folds meanwhile.
//
// kTsfn: where there is no libuv at all (Bun and Deno load Node-API addons
// but have none; Bun panics on the first uv_ call), the same waiter thread
// hands each batch over through a LoopChannel instead of a uv_async_t:
// kqueue.cc's is a napi_threadsafe_function. No libuv function is called in
// this mode, from Start() to OnClosed.
//
// kAuto probes the kqueue (ProbePollable) to choose between kPoll and
// kThread, not the platform's name; kTsfn is only ever asked for. Depends on
// libuv and kevent.h only, so that it can be tested, under ThreadSanitizer,
// without Node (test/native/waker_test.cc). The waiter is a pthread
// (thread.h).
#ifndef KQUEUE_CONSOLE_WAKER_H_
#define KQUEUE_CONSOLE_WAKER_H_

#include <uv.h>

#include <mutex>

#include "../kevent/kevent.h"
#include "syscall.h"
#include "thread.h"

namespace kqc {

enum class Wakeup { kAuto = 0, kPoll = 1, kThread = 2, kTsfn = 3 };

class Waker;

// kTsfn: how the waiter thread reaches the loop thread without libuv.
class LoopChannel {
 public:
  // Waiter thread: have the loop thread call waker->Deliver() soon. Never
  // called after Close() has returned.
  virtual void Post() = 0;
  // Loop thread: whether the channel keeps the loop alive.
  virtual void Ref() = 0;
  virtual void Unref() = 0;
  // Loop thread: no more Post(); waker->ChannelClosed() follows once the
  // channel is gone (from the loop, or at once).
  virtual void Close() = 0;

 protected:
  ~LoopChannel() = default;
};

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

  // Starts watching `kq` from `loop` (kAuto probes), or through `channel`
  // for kTsfn (`loop` is then unused). The handle or channel starts
  // unref'd. Returns 0 or an errno, with the call that failed in *failed. A
  // forced kPoll on a kqueue that is not pollable is ENOTSUP (kSysPoll).
  int Start(uv_loop_t* loop, LoopChannel* channel, int kq, Wakeup wanted,
            Syscall* failed);
  Wakeup mode() const { return mode_; }
  void Ref();
  void Unref();
  // Stops waking and lets go of the kqueue fd (joins the waiter thread):
  // before the kqueue is closed. Loop thread; safe from inside OnWake.
  void Stop();
  // Stop(), then closes the handle; OnClosed follows from the loop, or at
  // once when Start() never made one.
  void Close();

  // kTsfn, on the loop thread: the batch the waiter handed over (what a
  // uv_async_t's callback does in kThread), and the channel's end.
  void Deliver();
  void ChannelClosed();

 private:
  // Start()'s steps: kAuto and kPoll probe the kqueue and settle on kPoll
  // or kThread; kPoll watches the kqueue fd, kThread and kTsfn start the
  // waiter thread. Each returns 0 or an errno with *failed, as Start() does.
  int ChooseMode(Wakeup wanted, Syscall* failed);
  int StartPoll(uv_loop_t* loop, Syscall* failed);
  int StartWaiter(uv_loop_t* loop, Syscall* failed);
  uv_handle_t* handle();
  static void Wait(void* arg);  // The waiter thread.
  void Post();                  // From the waiter thread.
  static void OnPoll(uv_poll_t* handle, int status, int events);
  static void OnAsync(uv_async_t* handle);
  static void OnHandleClosed(uv_handle_t* handle);

  const OnWake on_wake_;
  const OnClosed on_closed_;
  void* const arg_;
  Wakeup mode_ = Wakeup::kAuto;
  int kq_ = -1;
  LoopChannel* channel_ = nullptr;  // kTsfn's, from Start().
  // The handle (kPoll's uv_poll_t, kThread's uv_async_t) or kTsfn's
  // channel: none made yet (or the runtime ended the channel first), open,
  // closing (Close() waits for the channel's end), closed.
  enum class HandlePhase { kNone, kOpen, kClosing, kClosed };
  HandlePhase handle_phase_ = HandlePhase::kNone;
  // Resources Stop() gives back in any phase: the poll started, the waiter
  // thread to join.
  bool polling_ = false;
  union {
    uv_poll_t poll_;
    uv_async_t async_;
  };

  // kThread. The pipe wakes the waiter thread out of kevent() to stop it.
  int wake_r_ = -1;
  int wake_w_ = -1;
  Thread waiter_;
  bool waiter_started_ = false;
  std::mutex mu_;
  CondVar handed_back_;  // Also: the waiter named itself.
  // What one kevent() of the waiter took, and its error.
  struct Batch {
    int count = 0;
    int error = 0;
    struct kevent events[kWaitEvents];
  };
  bool MayWait() const;
  // Guarded by mu_: the waiter runs; whether it must stop; the batch the
  // loop delivers next, and how many are handed over and not yet delivered.
  bool running_ = false;
  bool stopping_ = false;
  int head_ = 0;
  int queued_ = 0;
  // The last batch was handed over while another was being delivered.
  bool overlapped_ = false;
  // The waiter writes batches_[(head_ + queued_) % 2] while queued_ < 2;
  // the loop reads batches_[head_] while queued_ > 0.
  Batch batches_[2];
};

}  // namespace kqc

#endif  // KQUEUE_CONSOLE_WAKER_H_
