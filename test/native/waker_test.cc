// The waker (native/waker.h) on its own, on a libuv loop of its own, without
// Node: so that ThreadSanitizer can watch the waiter thread hand batches to
// the loop. Output is TAP; scripts/test-asan.mjs runs it under TSan, and
// .ci/run against libkqueue.

#include "../../native/core/waker.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tap.h"

namespace {

using tap::Die;
using tap::Ok;

const char* Name(kqc::Wakeup mode) {
  switch (mode) {
    case kqc::Wakeup::kPoll:
      return "poll";
    case kqc::Wakeup::kTsfn:
      return "tsfn";
    default:
      return "thread";
  }
}

// kTsfn without Node: a channel on a uv_async_t of the test's own loop,
// standing in for the napi_threadsafe_function of native/kqueue.cc (Node's
// is one too). Only a channel's contract is tested here.
class AsyncChannel final : public kqc::LoopChannel {
 public:
  void Open(uv_loop_t* loop, kqc::Waker* waker) {
    waker_ = waker;
    async_.data = this;
    uv_async_init(loop, &async_, [](uv_async_t* h) {
      static_cast<AsyncChannel*>(h->data)->waker_->Deliver();
    });
  }
  void Post() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      posts_++;
    }
    posted_.notify_all();
    uv_async_send(&async_);
  }
  // Whether the waiter has posted `count` batches within `ms`: the
  // hand-over, observed where it happens instead of slept for.
  bool WaitForPost(int ms, int count = 1) {
    std::unique_lock<std::mutex> lock(mu_);
    return posted_.wait_for(lock, std::chrono::milliseconds(ms),
                            [this, count] { return posts_ >= count; });
  }
  void Ref() override { uv_ref(handle()); }
  void Unref() override { uv_unref(handle()); }
  void Close() override {
    uv_close(handle(), [](uv_handle_t* h) {
      static_cast<AsyncChannel*>(h->data)->waker_->ChannelClosed();
    });
  }

 private:
  uv_handle_t* handle() { return reinterpret_cast<uv_handle_t*>(&async_); }
  kqc::Waker* waker_ = nullptr;
  uv_async_t async_;
  std::mutex mu_;
  std::condition_variable posted_;
  int posts_ = 0;
};

// What a Kqueue does on a wake-up: fold what the waiter took, drain the rest
// without waiting, and read the pipes empty (edge-triggered: a read that
// stops short of EAGAIN would wait for no new edge).
struct Loop {
  uv_loop_t loop;
  kqc::Waker* waker = nullptr;
  int kq = -1;
  std::vector<int> readers;  // By id - 1.
  long bytes = 0;
  long target = 0;
  int wakeups = 0;
  int error = 0;
  int closed = 0;
  bool close_in_wake = false;

  static void OnWake(void* arg, const struct kevent* taken, int count,
                     int error) {
    Loop* self = static_cast<Loop*>(arg);
    self->wakeups++;
    if (error != 0) self->error = error;
    std::vector<struct kevent> events(taken, taken + count);
    struct kevent more[64];
    const struct timespec zero = {0, 0};
    int n;
    while ((n = kevent(self->kq, nullptr, 0, more, 64, &zero)) > 0) {
      events.insert(events.end(), more, more + n);
      if (n < 64) break;
    }
    for (const struct kevent& ev : events) {
      uint64_t id = kqc::UdataToId(ev.udata);
      if (id == 0 || id > self->readers.size()) continue;
      char buf[4096];
      ssize_t r;
      while ((r = read(self->readers[id - 1], buf, sizeof(buf))) > 0) {
        self->bytes += r;
      }
    }
    if (self->close_in_wake || self->bytes >= self->target) {
      self->waker->Close();
    }
  }

  static void OnClosed(void* arg) { static_cast<Loop*>(arg)->closed++; }
};

void TestProbe() {
  int kq = kqueue();
  bool pollable = false;
  int err = kqc::ProbePollable(kq, &pollable);
  bool expected = strcmp(KQC_KEVENT_BACKEND, "libkqueue") != 0;
  Ok(err == 0 && pollable == expected,
     std::string("the probe finds a ") + KQC_KEVENT_BACKEND + " kqueue " +
         (expected ? "pollable" : "not pollable"));
  struct kevent ev[4];
  const struct timespec zero = {0, 0};
  Ok(kevent(kq, nullptr, 0, ev, 4, &zero) == 0,
     "and leaves no event or registration behind");
  uv_loop_t loop;
  uv_loop_init(&loop);
  int closed = 0;
  kqc::Waker waker([](void*, const struct kevent*, int, int) {},
                   [](void* arg) { ++*static_cast<int*>(arg); }, &closed);
  kqc::Syscall what = kqc::kSysNone;
  err = waker.Start(&loop, nullptr, kq, kqc::Wakeup::kPoll, &what);
  if (expected) {
    Ok(err == 0 && waker.mode() == kqc::Wakeup::kPoll, "poll can be forced");
  } else {
    Ok(err == ENOTSUP && what == kqc::kSysPoll,
       "forcing poll on a kqueue that is not pollable is ENOTSUP from poll");
  }
  waker.Close();
  uv_run(&loop, UV_RUN_DEFAULT);
  Ok(closed == 1, "the waker closes once");
  uv_loop_close(&loop);
  kqueue_close(kq);
}

// Pipes written by another thread while the loop runs: every byte is read,
// through wake-ups that the waker hands over one batch at a time.
void TestTraffic(kqc::Wakeup mode) {
  const int kPipes = 16;
  const int kRounds = 2000;
  Loop l;
  uv_loop_init(&l.loop);
  l.kq = kqueue();
  std::vector<int> writers;
  for (int i = 1; i <= kPipes; i++) {
    int p[2];
    if (pipe(p) != 0) Die("pipe");
    fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
    l.readers.push_back(p[0]);
    writers.push_back(p[1]);
    struct kevent c;
    EV_SET(&c, p[0], EVFILT_READ, EV_ADD | EV_CLEAR, 0, 0, kqc::IdToUdata(i));
    if (kevent(l.kq, &c, 1, nullptr, 0, nullptr) != 0) Die("kevent");
  }
  l.target = static_cast<long>(kPipes) * kRounds;
  kqc::Waker waker(Loop::OnWake, Loop::OnClosed, &l);
  l.waker = &waker;
  AsyncChannel channel;
  if (mode == kqc::Wakeup::kTsfn) channel.Open(&l.loop, &waker);
  kqc::Syscall what = kqc::kSysNone;
  int err = waker.Start(&l.loop, &channel, l.kq, mode, &what);
  Ok(err == 0 && waker.mode() == mode, std::string(Name(mode)) + ": started");
  waker.Ref();
  std::thread writer([&] {
    for (int r = 0; r < kRounds; r++) {
      for (int fd : writers) {
        if (write(fd, "x", 1) != 1) Die("write");
      }
    }
  });
  uv_run(&l.loop, UV_RUN_DEFAULT);
  writer.join();
  Ok(l.bytes == l.target, std::string(Name(mode)) + ": all " +
                              std::to_string(l.target) + " bytes read in " +
                              std::to_string(l.wakeups) + " wake-ups");
  Ok(l.error == 0 && l.closed == 1,
     std::string(Name(mode)) + ": no error; closed once, from a wake-up");
  Ok(uv_loop_close(&l.loop) == 0,
     std::string(Name(mode)) + ": no handle left on the loop");
  for (int fd : l.readers) close(fd);
  for (int fd : writers) close(fd);
  kqueue_close(l.kq);
}

// A loop and a kqueue that watches one pipe (id 1) for a waker that is
// never to close itself from a wake-up.
void WatchOnePipe(Loop* l, kqc::Waker* waker, int p[2]) {
  uv_loop_init(&l->loop);
  l->kq = kqueue();
  if (pipe(p) != 0) Die("pipe");
  l->readers.push_back(p[0]);
  struct kevent c;
  EV_SET(&c, p[0], EVFILT_READ, EV_ADD | EV_CLEAR, 0, 0, kqc::IdToUdata(1));
  if (kevent(l->kq, &c, 1, nullptr, 0, nullptr) != 0) Die("kevent");
  l->waker = waker;
  l->target = 1 << 30;
}

// Closed while the waiter thread is blocked in kevent() with nothing to
// report (thread mode), and while it waits for a batch it has handed over
// to be handed back (tsfn mode, whose channel here shows the hand-over).
void TestCloseWhileWaiting() {
  for (int handed = 0; handed < 2; handed++) {
    Loop l;
    kqc::Waker waker(Loop::OnWake, Loop::OnClosed, &l);
    int p[2];
    WatchOnePipe(&l, &waker, p);
    AsyncChannel channel;
    if (handed) channel.Open(&l.loop, &waker);
    kqc::Syscall what = kqc::kSysNone;
    waker.Start(&l.loop, &channel, l.kq,
                handed ? kqc::Wakeup::kTsfn : kqc::Wakeup::kThread, &what);
    if (handed) {
      if (write(p[1], "x", 1) != 1) Die("write");
      Ok(channel.WaitForPost(10000), "tsfn: the waiter handed a batch over");
    }
    waker.Close();
    uv_run(&l.loop, UV_RUN_DEFAULT);
    Ok(l.closed == 1 && uv_loop_close(&l.loop) == 0,
       handed ? "closed with a batch handed over and never delivered"
              : "closed while the waiter is blocked in kevent()");
    close(p[0]);
    close(p[1]);
    kqueue_close(l.kq);
  }
}

// The runtime may end the channel before the waker closes it (Node finalizes
// a threadsafe function in its environment's teardown): the waiter is
// stopped then, and Close() finishes at once.
void TestChannelEndsFirst() {
  Loop l;
  kqc::Waker waker(Loop::OnWake, Loop::OnClosed, &l);
  int p[2];
  WatchOnePipe(&l, &waker, p);
  AsyncChannel channel;
  channel.Open(&l.loop, &waker);
  kqc::Syscall what = kqc::kSysNone;
  int err = waker.Start(&l.loop, &channel, l.kq, kqc::Wakeup::kTsfn, &what);
  if (write(p[1], "x", 1) != 1) Die("write");
  channel.Close();
  uv_run(&l.loop, UV_RUN_DEFAULT);
  Ok(err == 0 && l.closed == 0,
     "tsfn: the channel ended by the runtime does not close the waker");
  waker.Close();
  Ok(l.closed == 1 && uv_loop_close(&l.loop) == 0,
     "tsfn: and Close() then finishes at once");
  close(p[0]);
  close(p[1]);
  kqueue_close(l.kq);
}

// While the loop delivers one batch, the waiter waits on the kqueue again
// and hands the next over (waker.h): an echo round trip wakes it once, not a
// second time for the hand-back. The first delivery makes the second
// batch's event, and waits inside itself for the channel to see it posted.
struct Overlap {
  kqc::Waker* waker = nullptr;
  AsyncChannel* channel = nullptr;
  int second_w = -1;
  int wakeups = 0;
  bool posted_during = false;
  int closed = 0;

  static void OnWake(void* arg, const struct kevent*, int, int) {
    Overlap* self = static_cast<Overlap*>(arg);
    if (self->wakeups++ > 0) return;
    if (write(self->second_w, "x", 1) != 1) Die("write");
    self->posted_during = self->channel->WaitForPost(10000, 2);
    self->waker->Close();
  }
  static void OnClosed(void* arg) { static_cast<Overlap*>(arg)->closed++; }
};

void TestNextBatchWhileDelivering() {
  uv_loop_t loop;
  uv_loop_init(&loop);
  int kq = kqueue();
  int p[2][2];
  for (int i = 0; i < 2; i++) {
    if (pipe(p[i]) != 0) Die("pipe");
    struct kevent c;
    EV_SET(&c, p[i][0], EVFILT_READ, EV_ADD | EV_CLEAR, 0, 0,
           kqc::IdToUdata(i + 1));
    if (kevent(kq, &c, 1, nullptr, 0, nullptr) != 0) Die("kevent");
  }
  Overlap o;
  kqc::Waker waker(Overlap::OnWake, Overlap::OnClosed, &o);
  AsyncChannel channel;
  channel.Open(&loop, &waker);
  o.waker = &waker;
  o.channel = &channel;
  o.second_w = p[1][1];
  kqc::Syscall what = kqc::kSysNone;
  int err = waker.Start(&loop, &channel, kq, kqc::Wakeup::kTsfn, &what);
  waker.Ref();
  if (write(p[0][1], "x", 1) != 1) Die("write");
  uv_run(&loop, UV_RUN_DEFAULT);
  Ok(err == 0 && o.posted_during,
     "tsfn: while the loop delivers a batch, the waiter hands the next over");
  Ok(o.closed == 1 && o.wakeups == 1 && uv_loop_close(&loop) == 0,
     "tsfn: closed from that delivery, with the next batch never delivered");
  for (auto& fds : p) {
    close(fds[0]);
    close(fds[1]);
  }
  kqueue_close(kq);
}

}  // namespace

int main() {
  bool pollable = false;
  int kq = kqueue();
  kqc::ProbePollable(kq, &pollable);
  kqueue_close(kq);
  // Poll mode's traffic (4 checks) runs only where the kqueue fd is pollable.
  tap::Plan(pollable ? 23 : 19);
  TestProbe();
  if (pollable) TestTraffic(kqc::Wakeup::kPoll);
  TestTraffic(kqc::Wakeup::kThread);
  TestTraffic(kqc::Wakeup::kTsfn);
  TestCloseWhileWaiting();
  TestChannelEndsFirst();
  TestNextBatchWhileDelivering();
  return tap::Done();
}
