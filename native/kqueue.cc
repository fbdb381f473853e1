// The dedicated kqueue and its waiter thread.
//
// The waiter thread blocks in kevent() with no timeout and folds what it gets
// into a pending set (registration id -> readiness bits) under a mutex, then
// calls uv_async_send(). uv_async_send coalesces, so the loop thread is woken
// once for any number of events, and its callback swaps the whole set out and
// makes one call into JavaScript with it: a Float64Array of (id, bits) pairs.
//
// Registration ids are chosen by JavaScript and never reused in the life of a
// Kqueue; an event for an id that has since been removed (or whose fd number
// was reused) is dropped there. Id 0 is the wake pipe.
//
// Teardown is the same from close(), from the finalizer and from the
// environment's async cleanup hook (worker exit, process exit): wake the
// thread through the pipe, join it, close the fds, then uv_close() the async
// handle and free the state in its close callback.

#include "kqueue.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>
#include <uv.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "kevent.h"
#include "status.h"

namespace kqc {
namespace {

constexpr uint64_t kWakeId = 0;
constexpr int kWaitEvents = 256;
constexpr size_t kMinBatch = 128;
constexpr char kWaiterThreadName[] = "kqueue-waiter";

void* IdToUdata(uint64_t id) {
  return reinterpret_cast<void*>(static_cast<uintptr_t>(id));
}

class Kqueue;

// State that must outlive the JavaScript object until the async handle has
// closed. Touched by the waiter thread only through kq_, the wake pipe, mu_
// and what mu_ guards.
class Core {
 public:
  Core(napi_env env, Kqueue* wrapper) : env_(env), wrapper_(wrapper) {}

  // Returns 0, or an errno with *syscall set.
  int Open(Napi::Function on_events, Syscall* syscall);
  int Add(int fd, uint64_t id, bool* was_nonblocking, Syscall* syscall);
  int Remove(int fd);
  void Ref() { uv_ref(reinterpret_cast<uv_handle_t*>(&async_)); }
  void Unref() { uv_unref(reinterpret_cast<uv_handle_t*>(&async_)); }
  int fd() const { return kq_; }
  void Close();

 private:
  struct Pending {
    uint64_t id;
    uint32_t bits;
  };

  void Run();
  void Deliver();
  void DeliverInScope(size_t count, int wait_errno);
  void StopWaiter();
  static void OnAsync(uv_async_t* handle);
  static void OnClosed(uv_handle_t* handle);
  static void OnEnvCleanup(napi_async_cleanup_hook_handle hook, void* arg);

  const napi_env env_;
  Kqueue* wrapper_;
  int kq_ = -1;
  int wake_r_ = -1;
  int wake_w_ = -1;
  bool async_open_ = false;
  bool closed_ = false;
  uv_async_t async_;
  std::thread waiter_;
  std::atomic<bool> stopping_{false};

  std::mutex mu_;
  std::vector<Pending> pending_;                 // Guarded by mu_.
  std::unordered_map<uint64_t, size_t> index_;  // Guarded by mu_.
  int wait_errno_ = 0;                           // Guarded by mu_.

  std::vector<Pending> delivering_;  // Loop thread only.
  Napi::FunctionReference on_events_;
  napi_async_context async_context_ = nullptr;
  Napi::Reference<Napi::Float64Array> batch_ref_;
  double* batch_ = nullptr;
  size_t batch_capacity_ = 0;  // In doubles.
  napi_async_cleanup_hook_handle hook_ = nullptr;

  friend class Kqueue;
};

class Kqueue : public Napi::ObjectWrap<Kqueue> {
 public:
  static Napi::Function Define(Napi::Env env, void* data) {
    return DefineClass(
        env, "Kqueue",
        {
            InstanceMethod<&Kqueue::Add>("add"),
            InstanceMethod<&Kqueue::Remove>("remove"),
            InstanceMethod<&Kqueue::RefHandle>("ref"),
            InstanceMethod<&Kqueue::UnrefHandle>("unref"),
            InstanceMethod<&Kqueue::CloseHandle>("close"),
            InstanceAccessor<&Kqueue::GetFd>("fd"),
        },
        data);
  }

  // new Kqueue(onEvents): onEvents(batch, count, waitErrno) is called once per
  // loop wake-up with `count` (id, bits) pairs in `batch`; batch is reused
  // between calls. A non-zero waitErrno means the waiter thread has stopped
  // because kevent() failed.
  explicit Kqueue(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<Kqueue>(info),
        data_(info.Env().GetInstanceData<AddonData>()) {
    if (!info[0].IsFunction()) {
      ThrowType(info.Env(), "expected a function");
      return;
    }
    core_ = new Core(info.Env(), this);
    Syscall syscall = kSysNone;
    int err = core_->Open(info[0].As<Napi::Function>(), &syscall);
    if (err != 0) {
      core_->Close();  // Frees what Open made; clears core_.
      Napi::Error e = Napi::Error::New(info.Env(), std::string(kSyscallNames[syscall]));
      e.Set("errno", Napi::Number::New(info.Env(), err));
      e.Set("syscall", Napi::String::New(info.Env(), kSyscallNames[syscall]));
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

  // add(fd, id) -> 1 if the fd was already non-blocking, 0 if add() made it
  // so, or -1.
  Napi::Value Add(const Napi::CallbackInfo& info) {
    int fd;
    int64_t id;
    if (!ArgFd(info, 0, &fd) || !ArgInt(info, 1, &id)) return Napi::Value();
    if (id <= 0) return (ThrowType(info.Env(), "expected an id > 0"), Napi::Value());
    if (core_ == nullptr) return Failed(info, EBADF, kSysKevent);
    bool was_nonblocking = false;
    Syscall syscall = kSysKevent;
    int err = core_->Add(fd, static_cast<uint64_t>(id), &was_nonblocking, &syscall);
    if (err != 0) return Failed(info, err, syscall);
    return Napi::Number::New(info.Env(), was_nonblocking ? 1 : 0);
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

  AddonData* data_;
  Core* core_ = nullptr;
};

int Core::Open(Napi::Function on_events, Syscall* syscall) {
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env_, &loop) != napi_ok || loop == nullptr) {
    *syscall = kSysKqueue;
    return EINVAL;
  }
  kq_ = kqueue();
  if (kq_ < 0) {
    *syscall = kSysKqueue;
    return errno;
  }
  int fds[2];
  if (pipe(fds) != 0) {
    *syscall = kSysPipe;
    return errno;
  }
  wake_r_ = fds[0];
  wake_w_ = fds[1];
  for (int fd : fds) {
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0 ||
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) {
      *syscall = kSysFcntl;
      return errno;
    }
  }
  struct kevent change;
  EV_SET(&change, wake_r_, EVFILT_READ, EV_ADD | EV_CLEAR, 0, 0,
         IdToUdata(kWakeId));
  if (kevent(kq_, &change, 1, nullptr, 0, nullptr) != 0) {
    *syscall = kSysKevent;
    return errno;
  }

  // The loop of this environment (main thread or worker), never the default
  // loop. Unref'd: an idle Kqueue does not keep the process alive; the
  // JavaScript side refs it while a console waits for an event.
  if (uv_async_init(loop, &async_, OnAsync) != 0) {
    *syscall = kSysKqueue;
    return ENOMEM;
  }
  async_.data = this;
  async_open_ = true;
  Unref();

  on_events_ = Napi::Persistent(on_events);
  napi_value resource, name;
  napi_create_object(env_, &resource);
  napi_create_string_utf8(env_, "kqueue-console:Kqueue", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env_, resource, name, &async_context_);
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

  // Both filters in one change list, edge-triggered. EV_RECEIPT makes each
  // change answer for itself, so a half-done registration can be undone.
  struct kevent changes[2];
  struct kevent receipts[2];
  EV_SET(&changes[0], fd, EVFILT_READ, EV_ADD | EV_CLEAR | EV_RECEIPT, 0, 0,
         IdToUdata(id));
  EV_SET(&changes[1], fd, EVFILT_WRITE, EV_ADD | EV_CLEAR | EV_RECEIPT, 0, 0,
         IdToUdata(id));
  int n = kevent(kq_, changes, 2, receipts, 2, nullptr);
  int err = n < 0 ? errno : 0;
  for (int i = 0; err == 0 && i < n; i++) {
    if ((receipts[i].flags & EV_ERROR) && receipts[i].data != 0) {
      err = static_cast<int>(receipts[i].data);
    }
  }
  if (err != 0) {
    Remove(fd);
    if (!*was_nonblocking) fcntl(fd, F_SETFL, flags);
    *syscall = kSysKevent;
    return err;
  }
  if (!waiter_.joinable()) waiter_ = std::thread(&Core::Run, this);
  return 0;
}

int Core::Remove(int fd) {
  struct kevent changes[2];
  struct kevent receipts[2];
  EV_SET(&changes[0], fd, EVFILT_READ, EV_DELETE | EV_RECEIPT, 0, 0, nullptr);
  EV_SET(&changes[1], fd, EVFILT_WRITE, EV_DELETE | EV_RECEIPT, 0, 0, nullptr);
  int n = kevent(kq_, changes, 2, receipts, 2, nullptr);
  if (n < 0) return errno;
  int err = 0;
  for (int i = 0; i < n; i++) {
    if ((receipts[i].flags & EV_ERROR) && receipts[i].data != 0 && err == 0) {
      err = static_cast<int>(receipts[i].data);
    }
  }
  return err;
}

void Core::Run() {
  // Named so that it can be told apart in top -H, gdb and /proc/<pid>/task.
#if defined(__APPLE__)
  pthread_setname_np(kWaiterThreadName);
#elif defined(__linux__) || defined(__FreeBSD__)
  pthread_setname_np(pthread_self(), kWaiterThreadName);
#endif
  struct kevent events[kWaitEvents];
  for (;;) {
    int n = kevent(kq_, nullptr, 0, events, kWaitEvents, nullptr);
    if (stopping_.load(std::memory_order_acquire)) return;
    if (n < 0) {
      if (errno == EINTR) continue;
      {
        std::lock_guard<std::mutex> lock(mu_);
        wait_errno_ = errno;
      }
      uv_async_send(&async_);
      return;
    }
    bool any = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (int i = 0; i < n; i++) {
        const struct kevent& ev = events[i];
        uint64_t id = reinterpret_cast<uintptr_t>(ev.udata);
        if (id == kWakeId || (ev.flags & EV_ERROR)) continue;
        uint32_t bits = ev.filter == EVFILT_READ ? kReady : kWritable;
        if (ev.flags & EV_EOF) bits |= kHangup;
        auto slot = index_.try_emplace(id, pending_.size());
        if (slot.second) {
          pending_.push_back({id, bits});
        } else {
          pending_[slot.first->second].bits |= bits;
        }
        any = true;
      }
    }
    if (any) uv_async_send(&async_);
  }
}

void Core::OnAsync(uv_async_t* handle) {
  static_cast<Core*>(handle->data)->Deliver();
}

void Core::Deliver() {
  int wait_errno;
  {
    std::lock_guard<std::mutex> lock(mu_);
    delivering_.swap(pending_);
    index_.clear();
    wait_errno = wait_errno_;
    wait_errno_ = 0;
  }
  size_t count = delivering_.size();
  if ((count == 0 && wait_errno == 0) || closed_) {
    delivering_.clear();
    return;
  }

  // Raw Node-API with every status checked: while a worker is being
  // terminated its loop still runs (Environment::CleanupHandles) but
  // JavaScript cannot, and then the calls below fail with no exception
  // pending. What was to be delivered is dropped; the cleanup hook closes
  // the Kqueue next.
  napi_handle_scope scope;
  if (napi_open_handle_scope(env_, &scope) != napi_ok) return;
  DeliverInScope(count, wait_errno);
  napi_close_handle_scope(env_, scope);
}

void Core::DeliverInScope(size_t count, int wait_errno) {
  if (batch_capacity_ < count * 2) {
    size_t capacity = kMinBatch;
    while (capacity < count * 2) capacity *= 2;
    napi_value buffer, batch;
    void* data = nullptr;
    if (napi_create_arraybuffer(env_, capacity * sizeof(double), &data, &buffer) != napi_ok ||
        napi_create_typedarray(env_, napi_float64_array, capacity, buffer, 0, &batch) != napi_ok) {
      delivering_.clear();
      return;
    }
    batch_ref_ = Napi::Persistent(Napi::Float64Array(env_, batch));
    batch_ = static_cast<double*>(data);
    batch_capacity_ = capacity;
  }
  for (size_t i = 0; i < count; i++) {
    batch_[2 * i] = static_cast<double>(delivering_[i].id);
    batch_[2 * i + 1] = delivering_[i].bits;
  }
  delivering_.clear();

  napi_value args[3];
  napi_value global, result;
  args[0] = batch_ref_.Value();
  napi_value callback = on_events_.Value();
  if (args[0] == nullptr || callback == nullptr ||
      napi_create_double(env_, static_cast<double>(count), &args[1]) != napi_ok ||
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

void Core::StopWaiter() {
  if (!waiter_.joinable()) return;
  stopping_.store(true, std::memory_order_release);
  // The wake pipe is registered EV_CLEAR, so one byte is one edge; it is
  // never read, because the thread exits on it.
  ssize_t r;
  do {
    r = write(wake_w_, "x", 1);
  } while (r < 0 && errno == EINTR);
  waiter_.join();
}

void Core::Close() {
  if (closed_) return;
  closed_ = true;
  if (wrapper_ != nullptr) {
    wrapper_->Detach();
    wrapper_ = nullptr;
  }
  StopWaiter();
  if (kq_ >= 0) kqueue_close(kq_);
  if (wake_r_ >= 0) close(wake_r_);
  if (wake_w_ >= 0) close(wake_w_);
  kq_ = wake_r_ = wake_w_ = -1;
  on_events_.Reset();
  batch_ref_.Reset();
  batch_ = nullptr;
  batch_capacity_ = 0;
  if (async_context_ != nullptr) {
    napi_async_destroy(env_, async_context_);
    async_context_ = nullptr;
  }
  if (async_open_) {
    uv_close(reinterpret_cast<uv_handle_t*>(&async_), OnClosed);
  } else {
    if (hook_ != nullptr) napi_remove_async_cleanup_hook(hook_);
    delete this;
  }
}

void Core::OnClosed(uv_handle_t* handle) {
  Core* self = static_cast<Core*>(handle->data);
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
  bits.Set("READABLE", Napi::Number::New(env, kReady));
  bits.Set("WRITABLE", Napi::Number::New(env, kWritable));
  bits.Set("HANGUP", Napi::Number::New(env, kHangup));
  exports.Set("bits", bits);
}

}  // namespace kqc
