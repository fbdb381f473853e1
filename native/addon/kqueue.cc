// The dedicated kqueue, watched by the loop of the Node environment that made
// it.
//
// When the kqueue has events, the loop thread wakes (waker.h: a uv_poll_t on
// the kqueue fd where that fd is pollable, else a waiter thread and a
// uv_async_t, or a napi_threadsafe_function where there is no libuv), drains
// them with a zero-timeout kevent(), folds them into one batch (registration id
// -> readiness bits) and makes one call into JavaScript with it: a Float64Array
// of (id, bits) pairs. One wake-up per batch, on the thread that reads; in poll
// mode there is no thread hop between the kernel's edge and the read() that
// answers it.
//
// Registration ids are chosen by JavaScript and never reused in the life of a
// Kqueue; an event for an id that has since been removed (or whose fd number
// was reused) is dropped there.
//
// READ is registered for as long as an fd is added; WRITE only while a write
// waits for room (watchWrite), so the write-side wake-ups of a pty (the other
// side read some input) cost nothing while no write is waiting.
//
// A process spawned through a Kqueue (spawn.h) is watched by the same kqueue:
// EVFILT_PROC/NOTE_EXIT under the id it was spawned with, delivered as
// kExited, and reaped when JavaScript asks (reap()). Children still running
// when the Kqueue closes are handed to the orphans' reaper (reaper.cc).
//
// Teardown is the same from close(), from the finalizer and from the
// environment's async cleanup hook (worker exit, process exit): stop the
// waker (joining its thread, if any), close the kqueue fd, then uv_close()
// the handle and free the state in its close callback.

#include "kqueue.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <uv.h>

#include <unordered_set>
#include <vector>

#include "../core/reaper.h"
#include "../core/waker.h"
#include "../kevent/kevent.h"
#include "addon_data.h"
#include "args.h"
#include "spawn_args.h"

namespace kqc {
namespace {

constexpr int kDrainEvents = 256;
constexpr size_t kMinBatch = 128;

class Kqueue;

// The waker's channel where there is no libuv (Wakeup::kTsfn): a Node-API
// threadsafe function whose call runs Waker::Deliver() on the loop thread.
// It has no JavaScript function of its own: call_js does the work.
class TsfnChannel final : public LoopChannel {
 public:
  TsfnChannel(napi_env env, Waker* waker) : env_(env), waker_(waker) {}
  // Returns a napi_status.
  napi_status Open();
  void Post() override {
    napi_call_threadsafe_function(tsfn_, nullptr, napi_tsfn_nonblocking);
  }
  void Ref() override { napi_ref_threadsafe_function(env_, tsfn_); }
  void Unref() override { napi_unref_threadsafe_function(env_, tsfn_); }
  void Close() override {
    napi_release_threadsafe_function(tsfn_, napi_tsfn_abort);
  }

 private:
  static void CallJs(napi_env env, napi_value, void* context, void*);
  static void Finalize(napi_env, void* data, void*);

  const napi_env env_;
  Waker* const waker_;
  napi_threadsafe_function tsfn_ = nullptr;
};

napi_status TsfnChannel::Open() {
  napi_value name;
  napi_status status = napi_create_string_utf8(env_, "kqueue-console:Waker",
                                               NAPI_AUTO_LENGTH, &name);
  if (status != napi_ok) return status;
  // Unbounded queue, one thread: the waiter has at most two batches handed
  // over at a time (waker.h), so the queue never holds more than two calls.
  return napi_create_threadsafe_function(env_, nullptr, nullptr, name, 0, 1,
                                         this, Finalize, this, CallJs, &tsfn_);
}

void TsfnChannel::CallJs(napi_env env, napi_value, void* context, void*) {
  // A null env: the function is being torn down with calls still queued
  // (napi_tsfn_abort); there is nothing to deliver to.
  if (env == nullptr) return;
  static_cast<TsfnChannel*>(context)->waker_->Deliver();
}

void TsfnChannel::Finalize(napi_env, void* data, void*) {
  static_cast<TsfnChannel*>(data)->waker_->ChannelClosed();
}

// State that must outlive the JavaScript object until the poll handle has
// closed. Loop thread only.
class Core {
 public:
  Core(napi_env env, Kqueue* wrapper) : env_(env), wrapper_(wrapper) {}

  // Returns 0, or an errno with *failed naming the call that failed.
  int Open(Napi::Function on_events, Wakeup wakeup, Syscall* failed);
  int Add(int fd, uint64_t id, bool* was_nonblocking, Syscall* syscall);
  int WatchWrite(int fd, uint64_t id, bool on);
  int Remove(int fd);
  int Spawn(const SpawnRequest& request, uint64_t id, pid_t* pid,
            Syscall* syscall);
  int ReapChild(pid_t pid, bool block, int* exit_code, int* signal);
  void Ref() { waker_.Ref(); }
  void Unref() { waker_.Unref(); }
  int fd() const { return kq_; }
  Wakeup wakeup() const { return waker_.mode(); }
  void Close();

 private:
  struct Pending {
    uint64_t id;
    uint32_t bits;
  };

  void Drain(const struct kevent* taken, int count, int wait_errno);
  void Deliver(int wait_errno);
  void DeliverInScope(size_t count, int wait_errno);
  bool ReserveBatch(size_t count);
  void Fold(const struct kevent& ev);
  static void OnWake(void* arg, const struct kevent* taken, int count,
                     int error);
  static void OnClosed(void* arg);
  static void OnEnvCleanup(napi_async_cleanup_hook_handle hook, void* arg);

  const napi_env env_;
  Kqueue* wrapper_;
  int kq_ = -1;
  bool closed_ = false;
  Waker waker_{OnWake, OnClosed, this};
  TsfnChannel channel_{env_, &waker_};

  std::vector<Pending> pending_;        // One wake-up's events, folded.
  std::unordered_set<pid_t> children_;  // Spawned here, not reaped yet.
  Napi::FunctionReference on_events_;
  napi_async_context async_context_ = nullptr;
  // A plain reference: Napi::Reference<Napi::Float64Array>::Value() builds
  // a Float64Array wrapper, which asks napi_get_typedarray_info for its type
  // and length, on every delivery.
  Napi::Reference<Napi::Value> batch_ref_;
  double* batch_ = nullptr;
  size_t batch_capacity_ = 0;  // In doubles.
  napi_async_cleanup_hook_handle hook_ = nullptr;
};

class Kqueue : public Napi::ObjectWrap<Kqueue> {
 public:
  static Napi::Function Define(Napi::Env env, void* data) {
    return DefineClass(env, "Kqueue",
                       {
                           InstanceMethod<&Kqueue::Add>("add"),
                           InstanceMethod<&Kqueue::WatchWrite>("watchWrite"),
                           InstanceMethod<&Kqueue::Remove>("remove"),
                           InstanceMethod<&Kqueue::SpawnChild>("spawn"),
                           InstanceMethod<&Kqueue::ReapChild>("reap"),
                           InstanceMethod<&Kqueue::RefHandle>("ref"),
                           InstanceMethod<&Kqueue::UnrefHandle>("unref"),
                           InstanceMethod<&Kqueue::CloseHandle>("close"),
                           InstanceAccessor<&Kqueue::GetFd>("fd"),
                           InstanceAccessor<&Kqueue::GetWakeup>("wakeup"),
                       },
                       data);
  }

  // new Kqueue(onEvents, wakeup): onEvents(batch, count, waitErrno) is called
  // once per loop wake-up with `count` (id, bits) pairs in `batch`; batch is
  // reused between calls. A non-zero waitErrno means waiting has stopped
  // because polling or draining the kqueue failed. `wakeup` is one of the
  // exported `wakeups` (waker.h's Wakeup); absent, kAuto.
  explicit Kqueue(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<Kqueue>(info),
        data_(info.Env().GetInstanceData<AddonData>()) {
    if (!info[0].IsFunction()) {
      ThrowType(info.Env(), "expected a function");
      return;
    }
    int wakeup = 0;
    if (info.Length() > 1 && info[1].IsNumber()) {
      wakeup = info[1].As<Napi::Number>().Int32Value();
    }
    if (wakeup < 0 || wakeup > static_cast<int>(Wakeup::kTsfn)) {
      ThrowType(info.Env(), "expected a wake-up mode from 0 to 3");
      return;
    }
    core_ = new Core(info.Env(), this);
    Syscall failed = kSysNone;
    int err = core_->Open(info[0].As<Napi::Function>(),
                          static_cast<Wakeup>(wakeup), &failed);
    if (err != 0) {
      core_->Close();  // Frees what Open made; clears core_.
      const char* name = kSyscallNames[failed];
      Napi::Error e = Napi::Error::New(info.Env(), name);
      e.Set("errno", Napi::Number::New(info.Env(), err));
      e.Set("syscall", Napi::String::New(info.Env(), name));
      e.ThrowAsJavaScriptException();
    }
  }

  ~Kqueue() override {
    if (core_ != nullptr) core_->Close();
  }

  void Detach() { core_ = nullptr; }

 private:
  Napi::Value Failed(const Napi::CallbackInfo& info, int err, Syscall syscall) {
    return Fail(info.Env(), data_, err, syscall);
  }

  // The (fd, id) arguments of add() and watchWrite(). False with a
  // JavaScript exception pending when they are wrong.
  static bool ArgFdId(const Napi::CallbackInfo& info, int* fd, uint64_t* id) {
    int64_t n;
    if (!ArgFd(info, 0, fd) || !ArgInt(info, 1, &n)) return false;
    if (n <= 0) return ThrowType(info.Env(), "expected an id > 0");
    *id = static_cast<uint64_t>(n);
    return true;
  }

  // add(fd, id) -> 1 if the fd was already non-blocking, 0 if add() made it
  // so, or -1.
  Napi::Value Add(const Napi::CallbackInfo& info) {
    int fd;
    uint64_t id = 0;
    if (!ArgFdId(info, &fd, &id)) return Napi::Value();
    if (core_ == nullptr) return Failed(info, EBADF, kSysKevent);
    bool was_nonblocking = false;
    Syscall syscall = kSysKevent;
    int err = core_->Add(fd, id, &was_nonblocking, &syscall);
    if (err != 0) return Failed(info, err, syscall);
    return Napi::Number::New(info.Env(), was_nonblocking ? 1 : 0);
  }

  // watchWrite(fd, id, on) -> 0 or -1: registers EVFILT_WRITE for a write
  // that waits for room (reported at once if there is room now), or removes
  // it again.
  Napi::Value WatchWrite(const Napi::CallbackInfo& info) {
    int fd;
    uint64_t id = 0;
    bool on;
    if (!ArgFdId(info, &fd, &id) || !ArgFlag(info, 2, &on))
      return Napi::Value();
    if (core_ == nullptr) return Failed(info, EBADF, kSysKevent);
    int err = core_->WatchWrite(fd, id, on);
    if (err != 0) return Failed(info, err, kSysKevent);
    return Napi::Number::New(info.Env(), 0);
  }

  // remove(fd) -> 0 or -1 (ENOENT/EBADF when the fd was not there).
  Napi::Value Remove(const Napi::CallbackInfo& info) {
    int fd;
    if (!ArgFd(info, 0, &fd)) return Napi::Value();
    if (core_ == nullptr) return Failed(info, EBADF, kSysKevent);
    int err = core_->Remove(fd);
    if (err != 0) return Failed(info, err, kSysKevent);
    return Napi::Number::New(info.Env(), 0);
  }

  // spawn(id, paths, argv, envp, cwd, slaveFd) -> pid, or -1: starts the
  // program on the pty (spawn.h) and watches its exit under `id`.
  Napi::Value SpawnChild(const Napi::CallbackInfo& info) {
    int64_t n;
    SpawnRequest request;
    if (!ArgInt(info, 0, &n) || !ArgSpawnRequest(info, 1, &request)) {
      return Napi::Value();
    }
    if (n <= 0) {
      ThrowType(info.Env(), "expected an id > 0");
      return Napi::Value();
    }
    if (core_ == nullptr) return Failed(info, EBADF, kSysKevent);
    pid_t pid = 0;
    Syscall syscall = kSysNone;
    int err = core_->Spawn(request, static_cast<uint64_t>(n), &pid, &syscall);
    if (err != 0) return Failed(info, err, syscall);
    return Napi::Number::New(info.Env(), pid);
  }

  // reap(pid, block) -> [exitCode, signal] once reaped (exitCode -1 when a
  // signal ended it, signal 0 otherwise), null while it runs, or -1
  // (ECHILD: not a child of this Kqueue, or reaped already).
  Napi::Value ReapChild(const Napi::CallbackInfo& info) {
    int64_t pid;
    bool block;
    if (!ArgInt(info, 0, &pid) || !ArgFlag(info, 1, &block)) {
      return Napi::Value();
    }
    if (core_ == nullptr) return Failed(info, ECHILD, kSysWaitpid);
    int code = -1, sig = 0;
    int r = core_->ReapChild(static_cast<pid_t>(pid), block, &code, &sig);
    if (r < 0) return Failed(info, -r, kSysWaitpid);
    if (r == 0) return info.Env().Null();
    Napi::Array out = Napi::Array::New(info.Env(), 2);
    out.Set(0u, Napi::Number::New(info.Env(), code));
    out.Set(1u, Napi::Number::New(info.Env(), sig));
    return out;
  }

  Napi::Value RefHandle(const Napi::CallbackInfo& info) {
    if (core_ != nullptr) core_->Ref();
    return info.Env().Undefined();
  }

  Napi::Value UnrefHandle(const Napi::CallbackInfo& info) {
    if (core_ != nullptr) core_->Unref();
    return info.Env().Undefined();
  }

  Napi::Value CloseHandle(const Napi::CallbackInfo& info) {
    if (core_ != nullptr) core_->Close();
    return info.Env().Undefined();
  }

  Napi::Value GetFd(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), core_ != nullptr ? core_->fd() : -1);
  }

  // "poll", "thread" or "tsfn" (see waker.h), or null once closed.
  Napi::Value GetWakeup(const Napi::CallbackInfo& info) {
    if (core_ == nullptr) return info.Env().Null();
    switch (core_->wakeup()) {
      case Wakeup::kPoll:
        return Napi::String::New(info.Env(), "poll");
      case Wakeup::kTsfn:
        return Napi::String::New(info.Env(), "tsfn");
      default:
        return Napi::String::New(info.Env(), "thread");
    }
  }

  AddonData* data_;
  Core* core_ = nullptr;
};

int Core::Open(Napi::Function on_events, Wakeup wakeup, Syscall* failed) {
  kq_ = kqueue();
  if (kq_ < 0) {
    *failed = kSysKqueue;
    return errno;
  }
  // Close-on-exec: epoll_create1(EPOLL_CLOEXEC) has it already; a BSD kqueue
  // is not inherited across fork() at all, but say so anyway.
  fcntl(kq_, F_SETFD, FD_CLOEXEC);

  // The channel is the waker's from Start() on, which closes it.
  uv_loop_t* loop = nullptr;
  if (wakeup == Wakeup::kTsfn) {
    if (channel_.Open() != napi_ok) {
      *failed = kSysNapiCreateThreadsafeFunction;
      return EINVAL;
    }
  } else if (napi_get_uv_event_loop(env_, &loop) != napi_ok ||
             loop == nullptr) {
    *failed = kSysNapiGetUvEventLoop;
    return EINVAL;
  }

  int err = waker_.Start(loop, &channel_, kq_, wakeup, failed);
  if (err != 0) return err;

  on_events_ = Napi::Persistent(on_events);
  // No async context of its own in kTsfn: Deno's napi_async_destroy makes a
  // V8 handle, and its environment's teardown, where the cleanup hook below
  // closes the Kqueue, has no handle scope to make it in (a fatal error).
  // Without one, napi_make_callback still runs the nextTick and microtask
  // queues after the call; only async_hooks see no resource of ours.
  if (wakeup != Wakeup::kTsfn) {
    napi_value resource, name;
    napi_create_object(env_, &resource);
    napi_create_string_utf8(env_, "kqueue-console:Kqueue", NAPI_AUTO_LENGTH,
                            &name);
    napi_async_init(env_, resource, name, &async_context_);
  }
  napi_add_async_cleanup_hook(env_, OnEnvCleanup, this, &hook_);
  return 0;
}

int Core::Add(int fd, uint64_t id, bool* was_nonblocking, Syscall* syscall) {
  int flags = fcntl(fd, F_GETFL);
  if (flags == -1) {
    *syscall = kSysFcntl;
    return errno;
  }
  *was_nonblocking = (flags & O_NONBLOCK) != 0;
  if (!*was_nonblocking && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1) {
    *syscall = kSysFcntl;
    return errno;
  }
  // READ only, edge-triggered; WRITE is added while a write waits.
  struct kevent change;
  // `data` (bytes readable) is not used here.
  EV_SET(&change, fd, EVFILT_READ, EV_ADD | EV_CLEAR | KQC_EV_NODATA, 0, 0,
         IdToUdata(id));
  if (kevent(kq_, &change, 1, nullptr, 0, nullptr) != 0) {
    int err = errno;
    if (!*was_nonblocking) fcntl(fd, F_SETFL, flags);
    *syscall = kSysKevent;
    return err;
  }
  return 0;
}

int Core::WatchWrite(int fd, uint64_t id, bool on) {
  struct kevent change;
  EV_SET(&change, fd, EVFILT_WRITE, on ? EV_ADD | EV_CLEAR : EV_DELETE, 0, 0,
         IdToUdata(id));
  return kevent(kq_, &change, 1, nullptr, 0, nullptr) == 0 ? 0 : errno;
}

int Core::Remove(int fd) {
  // EV_RECEIPT: each filter answers for itself. Only READ's answer counts:
  // WRITE is there only while a write waits, and ENOENT for it is normal.
  struct kevent changes[2];
  struct kevent receipts[2];
  EV_SET(&changes[0], fd, EVFILT_READ, EV_DELETE | EV_RECEIPT, 0, 0,
         IdToUdata(0));
  EV_SET(&changes[1], fd, EVFILT_WRITE, EV_DELETE | EV_RECEIPT, 0, 0,
         IdToUdata(0));
  int n = kevent(kq_, changes, 2, receipts, 2, nullptr);
  if (n < 0) return errno;
  for (int i = 0; i < n; i++) {
    if (receipts[i].filter == EVFILT_READ && (receipts[i].flags & EV_ERROR) &&
        receipts[i].data != 0) {
      return static_cast<int>(receipts[i].data);
    }
  }
  return 0;
}

int Core::Spawn(const SpawnRequest& request, uint64_t id, pid_t* pid,
                Syscall* syscall) {
  int err = SpawnOnPty(request, pid, syscall);
  if (err != 0) return err;
  struct kevent change;
  EV_SET(&change, *pid, EVFILT_PROC, EV_ADD, NOTE_EXIT, 0, IdToUdata(id));
  if (kevent(kq_, &change, 1, nullptr, 0, nullptr) != 0 && errno != ESRCH) {
    // Not watchable (EMFILE for the emulation's pidfd, ENOSYS before Linux
    // 5.3): a child nobody would reap is not started at all. ESRCH means it
    // has exited already (macOS refuses a zombie): JavaScript's first reap()
    // after spawn() finds it.
    err = errno;
    kill(*pid, SIGKILL);
    int code, sig;
    Reap(*pid, true, &code, &sig);
    *syscall = kSysKevent;
    return err;
  }
  children_.insert(*pid);
  return 0;
}

int Core::ReapChild(pid_t pid, bool block, int* exit_code, int* signal) {
  if (children_.count(pid) == 0) return -ECHILD;
  int r = Reap(pid, block, exit_code, signal);
  if (r == 0) return 0;
  children_.erase(pid);
  // Reaped before its exit event was taken (the first look after spawn()):
  // drop the watch now, so the emulation's pidfd goes with it. A kernel's
  // knote went at the exit (ENOENT), as a fired one does everywhere.
  struct kevent change;
  EV_SET(&change, pid, EVFILT_PROC, EV_DELETE, 0, 0, IdToUdata(0));
  kevent(kq_, &change, 1, nullptr, 0, nullptr);
  return r;
}

void Core::OnWake(void* arg, const struct kevent* taken, int count, int error) {
  static_cast<Core*>(arg)->Drain(taken, count, error);
}

// One entry per event, except that the READ and WRITE events of one fd that
// come together (one epoll event split in two by the Linux emulation) make
// one. An id that comes twice otherwise gets two entries: the streams take
// a repeated event as a spurious one.
void Core::Fold(const struct kevent& ev) {
  if (ev.flags & EV_ERROR) return;
  uint64_t id = UdataToId(ev.udata);
  uint32_t bits;
  if (ev.filter == EVFILT_PROC) {
    if (!(ev.fflags & NOTE_EXIT)) return;
    bits = kExited;
  } else {
    bits = ev.filter == EVFILT_READ ? kReadable : kWritable;
    if (ev.flags & EV_EOF) bits |= kHangup;
  }
  if (!pending_.empty() && pending_.back().id == id) {
    pending_.back().bits |= bits;
  } else {
    pending_.push_back({id, bits});
  }
}

// Takes every event the kqueue has now (a full list means there may be more),
// after those the waiter thread took, and delivers them in one call. When
// the waiter's list was not full it emptied the kqueue a moment ago: what
// came since waits for its next kevent(), which returns at once, and this
// wake-up makes one system call fewer.
void Core::Drain(const struct kevent* taken, int count, int wait_errno) {
  if (closed_) return;
  for (int i = 0; i < count; i++) Fold(taken[i]);
  struct kevent events[kDrainEvents];
  const struct timespec zero = {0, 0};
  bool more = taken == nullptr || count == Waker::kWaitEvents;
  while (wait_errno == 0 && more) {
    int n = kevent(kq_, nullptr, 0, events, kDrainEvents, &zero);
    if (n < 0) {
      if (errno == EINTR) continue;
      wait_errno = errno;
      break;
    }
    for (int i = 0; i < n; i++) Fold(events[i]);
    if (n < kDrainEvents) break;
  }
  if (wait_errno != 0) waker_.Stop();
  Deliver(wait_errno);
}

void Core::Deliver(int wait_errno) {
  size_t count = pending_.size();
  if (count == 0 && wait_errno == 0) return;

  // Raw Node-API with every status checked: while a worker is being
  // terminated its loop still runs (Environment::CleanupHandles) but
  // JavaScript cannot, and then the calls below fail with no exception
  // pending. What was to be delivered is dropped; the cleanup hook closes
  // the Kqueue next.
  napi_handle_scope scope;
  if (napi_open_handle_scope(env_, &scope) != napi_ok) {
    pending_.clear();
    return;
  }
  DeliverInScope(count, wait_errno);
  napi_close_handle_scope(env_, scope);
}

// Makes the batch hold at least `count` pairs (a Float64Array kept between
// wake-ups, grown by doubling). False when Node-API refused.
bool Core::ReserveBatch(size_t count) {
  if (batch_capacity_ >= count * 2) return true;
  size_t capacity = kMinBatch;
  while (capacity < count * 2) capacity *= 2;
  napi_value buffer, batch;
  void* data = nullptr;
  if (napi_create_arraybuffer(env_, capacity * sizeof(double), &data,
                              &buffer) != napi_ok ||
      napi_create_typedarray(env_, napi_float64_array, capacity, buffer, 0,
                             &batch) != napi_ok) {
    return false;
  }
  batch_ref_ = Napi::Persistent(Napi::Value(env_, batch));
  batch_ = static_cast<double*>(data);
  batch_capacity_ = capacity;
  return true;
}

void Core::DeliverInScope(size_t count, int wait_errno) {
  bool ok = ReserveBatch(count);
  if (ok) {
    for (size_t i = 0; i < count; i++) {
      batch_[2 * i] = static_cast<double>(pending_[i].id);
      batch_[2 * i + 1] = pending_[i].bits;
    }
  }
  // Cleared before the call: JavaScript may close the Kqueue from it.
  pending_.clear();
  if (!ok) return;

  napi_value args[3];
  napi_value global, result;
  args[0] = batch_ref_.Value();
  napi_value callback = on_events_.Value();
  if (args[0] == nullptr || callback == nullptr ||
      napi_create_double(env_, static_cast<double>(count), &args[1]) !=
          napi_ok ||
      napi_create_int32(env_, wait_errno, &args[2]) != napi_ok ||
      napi_get_global(env_, &global) != napi_ok) {
    return;
  }
  // MakeCallback, not Call: it runs process.nextTick callbacks and promise
  // jobs afterwards, which the streams the events feed depend on.
  napi_status status = napi_make_callback(env_, async_context_, global,
                                          callback, 3, args, &result);
  bool pending = false;
  if (status != napi_ok &&
      napi_is_exception_pending(env_, &pending) == napi_ok && pending) {
    // Thrown by the JavaScript side: report it as uncaught, as Node does for
    // any callback from the event loop.
    napi_value error;
    if (napi_get_and_clear_last_exception(env_, &error) == napi_ok) {
      napi_fatal_exception(env_, error);
    }
  }
}

void Core::Close() {
  if (closed_) return;
  closed_ = true;
  if (wrapper_ != nullptr) {
    wrapper_->Detach();
    wrapper_ = nullptr;
  }
  // The waker lets go of the fd (uv_poll_stop, or the waiter thread joined)
  // before it is closed.
  waker_.Stop();
  if (kq_ >= 0) kqueue_close(kq_);
  kq_ = -1;
  for (pid_t pid : children_) AdoptOrphan(pid);
  children_.clear();
  pending_.clear();
  on_events_.Reset();
  batch_ref_.Reset();
  batch_ = nullptr;
  batch_capacity_ = 0;
  if (async_context_ != nullptr) {
    napi_async_destroy(env_, async_context_);
    async_context_ = nullptr;
  }
  waker_.Close();  // Last: OnClosed may run at once and free this.
}

void Core::OnClosed(void* arg) {
  Core* self = static_cast<Core*>(arg);
  if (self->hook_ != nullptr) napi_remove_async_cleanup_hook(self->hook_);
  delete self;
}

void Core::OnEnvCleanup(napi_async_cleanup_hook_handle, void* arg) {
  static_cast<Core*>(arg)->Close();
}

}  // namespace

void InitKqueue(Napi::Env env, Napi::Object exports, void* data) {
  exports.Set("Kqueue", Kqueue::Define(env, data));
  Napi::Object bits = Napi::Object::New(env);
  bits.Set("READABLE", Napi::Number::New(env, kReadable));
  bits.Set("WRITABLE", Napi::Number::New(env, kWritable));
  bits.Set("HANGUP", Napi::Number::New(env, kHangup));
  bits.Set("EXITED", Napi::Number::New(env, kExited));
  exports.Set("bits", bits);
  Napi::Object wakeups = Napi::Object::New(env);
  wakeups.Set("auto", Napi::Number::New(env, int(Wakeup::kAuto)));
  wakeups.Set("poll", Napi::Number::New(env, int(Wakeup::kPoll)));
  wakeups.Set("thread", Napi::Number::New(env, int(Wakeup::kThread)));
  wakeups.Set("tsfn", Napi::Number::New(env, int(Wakeup::kTsfn)));
  exports.Set("wakeups", wakeups);
  // Where kevent() comes from: "kernel", "libkqueue" or "emulation" (Linux's
  // epoll, kevent_linux.cc). Tests use it to name the known deviations.
  exports.Set("backend", Napi::String::New(env, KQC_KEVENT_BACKEND));
}

}  // namespace kqc
