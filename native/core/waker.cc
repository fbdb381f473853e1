#include "waker.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif

namespace kqc {
namespace {

// Registrations carry ids from 1 up (the JavaScript side never hands out 0),
// so udata 0 marks the wake pipe and the probe's pipe.
constexpr uint64_t kWakeId = 0;
constexpr char kWaiterThreadName[] = "kqueue-waiter";

int OpenPipe(int fds[2]) {
  if (pipe(fds) != 0) return errno;
  for (int i = 0; i < 2; i++) {
    if (fcntl(fds[i], F_SETFD, FD_CLOEXEC) != 0 ||
        fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK) != 0) {
      int err = errno;
      close(fds[0]);
      close(fds[1]);
      return err;
    }
  }
  return 0;
}

int WatchPipe(int kq, int fd, uint16_t flags) {
  struct kevent change;
  EV_SET(&change, fd, EVFILT_READ, flags, 0, 0, IdToUdata(kWakeId));
  return kevent(kq, &change, 1, nullptr, 0, nullptr) == 0 ? 0 : errno;
}

void WriteByte(int fd) {
  ssize_t r;
  do {
    r = write(fd, "x", 1);
  } while (r < 0 && errno == EINTR);
}

// Named so that it can be told apart in top -H, gdb and /proc/<pid>/task.
// prctl on Linux: pthread_setname_np has a glibc 2.34 version there.
void NameThisThread() {
#if defined(__linux__)
  prctl(PR_SET_NAME, kWaiterThreadName);
#elif defined(__APPLE__)
  pthread_setname_np(kWaiterThreadName);
#elif defined(__FreeBSD__)
  pthread_setname_np(pthread_self(), kWaiterThreadName);
#endif
}

using Lock = std::unique_lock<std::mutex>;

void CloseFd(int* fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

}  // namespace

int ProbePollable(int kq, bool* pollable) {
  *pollable = false;
  int fds[2];
  int err = OpenPipe(fds);
  if (err != 0) return err;
  err = WatchPipe(kq, fds[0], EV_ADD | EV_CLEAR);
  if (err == 0) {
    // The write queues the knote's event synchronously (FreeBSD knote() from
    // pipe_write, Linux ep_poll_callback), so poll() needs no timeout.
    WriteByte(fds[1]);
    struct pollfd p = {kq, POLLIN, 0};
    int r;
    do {
      r = poll(&p, 1, 0);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
      err = errno;
    } else {
      *pollable = r == 1 && (p.revents & POLLIN) != 0;
    }
    // Deleting the knote drops its queued event; a waiter thread would skip
    // it anyway (kWakeId).
    WatchPipe(kq, fds[0], EV_DELETE);
  }
  close(fds[0]);
  close(fds[1]);
  return err;
}

Waker::Waker(OnWake on_wake, OnClosed on_closed, void* arg)
    : on_wake_(on_wake), on_closed_(on_closed), arg_(arg) {}

Waker::~Waker() = default;

int Waker::Start(uv_loop_t* loop, LoopChannel* channel, int kq, Wakeup wanted,
                 Syscall* failed) {
  kq_ = kq;
  int err = ChooseMode(wanted, failed);
  if (err != 0) return err;
  if (mode_ == Wakeup::kTsfn) {
    // Taken first: Close() closes it whatever fails below.
    channel_ = channel;
    handle_phase_ = HandlePhase::kOpen;
    Unref();
  }
  // The loop of this environment (main thread or worker), never the default
  // loop. Unref'd: an idle Kqueue does not keep the process alive; the
  // JavaScript side refs it while a console waits for an event.
  return mode_ == Wakeup::kPoll ? StartPoll(loop, failed)
                                : StartWaiter(loop, failed);
}

int Waker::ChooseMode(Wakeup wanted, Syscall* failed) {
  if (wanted != Wakeup::kAuto && wanted != Wakeup::kPoll) {
    mode_ = wanted;
    return 0;
  }
  bool pollable = false;
  int err = ProbePollable(kq_, &pollable);
  if (err == 0 && !pollable && wanted == Wakeup::kPoll) err = ENOTSUP;
  if (err != 0) {
    *failed = kSysPoll;
    return err;
  }
  mode_ = pollable ? Wakeup::kPoll : Wakeup::kThread;
  return 0;
}

int Waker::StartPoll(uv_loop_t* loop, Syscall* failed) {
  int r = uv_poll_init(loop, &poll_, kq_);
  if (r != 0) {
    *failed = kSysUvPollInit;
    return -r;
  }
  poll_.data = this;
  handle_phase_ = HandlePhase::kOpen;
  Unref();
  r = uv_poll_start(&poll_, UV_READABLE, OnPoll);
  if (r != 0) {
    *failed = kSysUvPollStart;
    return -r;
  }
  polling_ = true;
  return 0;
}

int Waker::StartWaiter(uv_loop_t* loop, Syscall* failed) {
  int fds[2];
  int err = OpenPipe(fds);
  if (err != 0) {
    *failed = kSysPipe;
    return err;
  }
  wake_r_ = fds[0];
  wake_w_ = fds[1];
  err = WatchPipe(kq_, wake_r_, EV_ADD | EV_CLEAR);
  if (err != 0) {
    *failed = kSysKevent;
    return err;
  }
  if (mode_ == Wakeup::kThread) {
    int r = uv_async_init(loop, &async_, OnAsync);
    if (r != 0) {
      *failed = kSysUvAsyncInit;
      return -r;
    }
    async_.data = this;
    handle_phase_ = HandlePhase::kOpen;
    Unref();
  }
  err = waiter_.Start(Wait, this);
  if (err != 0) {
    *failed = kSysPthreadCreate;
    return err;
  }
  waiter_started_ = true;
  // Returns once the thread has named itself: it is then what
  // /proc/<pid>/task shows, for as long as the Kqueue is open.
  Lock lock(mu_);
  handed_back_.Wait(lock, [this] { return running_; });
  return 0;
}

uv_handle_t* Waker::handle() {
  return mode_ == Wakeup::kPoll ? reinterpret_cast<uv_handle_t*>(&poll_)
                                : reinterpret_cast<uv_handle_t*>(&async_);
}

void Waker::Ref() {
  if (handle_phase_ != HandlePhase::kOpen) return;
  if (mode_ == Wakeup::kTsfn) {
    channel_->Ref();
  } else {
    uv_ref(handle());
  }
}

void Waker::Unref() {
  if (handle_phase_ != HandlePhase::kOpen) return;
  if (mode_ == Wakeup::kTsfn) {
    channel_->Unref();
  } else {
    uv_unref(handle());
  }
}

void Waker::OnPoll(uv_poll_t* handle, int status, int) {
  Waker* self = static_cast<Waker*>(handle->data);
  int error = status < 0 ? -status : 0;
  if (error != 0 && self->polling_) {
    uv_poll_stop(&self->poll_);
    self->polling_ = false;
  }
  self->on_wake_(self->arg_, nullptr, 0, error);
}

void Waker::Wait(void* arg) {
  Waker* self = static_cast<Waker*>(arg);
  NameThisThread();
  {
    Lock lock(self->mu_);
    self->running_ = true;
  }
  self->handed_back_.Signal();
  for (;;) {
    Batch* batch;
    {
      Lock lock(self->mu_);
      self->handed_back_.Wait(
          lock, [self] { return self->stopping_ || self->MayWait(); });
      if (self->stopping_) return;
      // The one slot the loop thread is not reading: (head_ + queued_) % 2
      // stays the same while the loop delivers and advances head_.
      batch = &self->batches_[(self->head_ + self->queued_) % 2];
    }
    int n = kevent(self->kq_, nullptr, 0, batch->events, kWaitEvents, nullptr);
    int error = n < 0 ? errno : 0;
    if (error == EINTR) continue;
    int kept = 0;
    for (int i = 0; i < n; i++) {
      if (UdataToId(batch->events[i].udata) != kWakeId) {
        batch->events[kept++] = batch->events[i];
      }
    }
    Lock lock(self->mu_);
    if (self->stopping_) return;
    if (kept == 0 && error == 0) continue;
    batch->count = kept;
    batch->error = error;
    self->overlapped_ = self->queued_ > 0;
    self->queued_++;
    self->Post();
    if (error != 0) return;
  }
}

// Under mu_. The waiter takes the next batch while the loop delivers one,
// unless that one filled the list (the loop thread then takes the rest
// itself, kqueue.cc's Drain, and the two must not wait on the kqueue at
// once), or came while another was being delivered: a loop that is still
// busy (a bulk read) would only wake the waiter for each new edge, which
// the kernel folds for free while the waiter waits for the hand-back.
bool Waker::MayWait() const {
  return queued_ == 0 ||
         (queued_ == 1 && !overlapped_ && batches_[head_].count < kWaitEvents);
}

// Under mu_, so that Stop() cannot complete in between: the handle or
// channel stays open until Stop() has joined this thread.
void Waker::Post() {
  if (mode_ == Wakeup::kTsfn) {
    channel_->Post();
  } else {
    uv_async_send(&async_);
  }
}

void Waker::OnAsync(uv_async_t* handle) {
  static_cast<Waker*>(handle->data)->Deliver();
}

void Waker::Deliver() {
  for (;;) {
    const Batch* batch;
    {
      Lock lock(mu_);
      if (queued_ == 0 || stopping_) return;
      batch = &batches_[head_];
    }
    // The waiter does not touch this batch until queued_ drops below. OnWake
    // may Stop() or Close(): the Waker stays allocated until OnClosed.
    on_wake_(arg_, batch->events, batch->count, batch->error);
    bool resume;
    {
      Lock lock(mu_);
      head_ = (head_ + 1) % 2;
      queued_--;
      resume = MayWait();
    }
    if (resume) handed_back_.Signal();
  }
}

void Waker::Stop() {
  if (polling_) {
    uv_poll_stop(&poll_);
    polling_ = false;
  }
  if (waiter_started_) {
    {
      Lock lock(mu_);
      stopping_ = true;
    }
    handed_back_.Signal();
    // The pipe is registered EV_CLEAR: one byte is one edge, which wakes the
    // thread if it is in kevent().
    WriteByte(wake_w_);
    waiter_.Join();
    waiter_started_ = false;
  }
  CloseFd(&wake_r_);
  CloseFd(&wake_w_);
}

void Waker::Close() {
  Stop();
  if (handle_phase_ != HandlePhase::kOpen) {
    handle_phase_ = HandlePhase::kClosed;
    on_closed_(arg_);
  } else if (mode_ == Wakeup::kTsfn) {
    handle_phase_ = HandlePhase::kClosing;
    channel_->Close();
  } else {
    handle_phase_ = HandlePhase::kClosed;
    uv_close(handle(), OnHandleClosed);
  }
}

// Also when the runtime ends the channel first (Node finalizes a
// threadsafe function in its environment's teardown): the waiter must not
// post to it again, so it is joined here, and Close() finishes at once.
void Waker::ChannelClosed() {
  Stop();
  if (handle_phase_ == HandlePhase::kClosing) {
    handle_phase_ = HandlePhase::kClosed;
    on_closed_(arg_);
  } else {
    handle_phase_ = HandlePhase::kNone;
  }
}

void Waker::OnHandleClosed(uv_handle_t* handle) {
  Waker* self = static_cast<Waker*>(handle->data);
  self->on_closed_(self->arg_);
}

}  // namespace kqc
