// The addon's state per Node environment, and how native code reports
// failures to JavaScript without throwing.
//
// Every function that makes a system call returns a count, a value or -1/null
// and writes the errno and the system call's number into a small Int32Array
// shared with JavaScript (one per Node environment). The TypeScript side turns
// that pair into a Node-style error in one place (src/errors.ts), so the hot
// read/write path allocates nothing and never unwinds through an exception.
#ifndef KQUEUE_CONSOLE_ADDON_DATA_H_
#define KQUEUE_CONSOLE_ADDON_DATA_H_

#include <napi.h>
#include <unistd.h>

#include <unordered_set>

#include "../core/syscall.h"

namespace kqc {

// Slots of the shared status array.
enum StatusSlot { kStatusErrno = 0, kStatusSyscall = 1, kStatusSlots = 2 };

// Per-environment state of the addon (main thread and each worker).
struct AddonData {
  Napi::Reference<Napi::Int32Array> status_ref;
  int32_t* status = nullptr;

  // The fds the library owns in this environment: those it opened (ptys,
  // dups) and those handed to it with autoClose. They are closed through
  // CloseOwned(); whatever is left when the environment goes away (a worker
  // terminated mid-read runs no JavaScript to close them) is closed here.
  std::unordered_set<int> owned;

  ~AddonData() {
    for (int fd : owned) close(fd);
  }

  void Set(int err, Syscall syscall) {
    status[kStatusErrno] = err;
    status[kStatusSyscall] = syscall;
  }
};

inline AddonData* Data(const Napi::CallbackInfo& info) {
  return static_cast<AddonData*>(info.Data());
}

// Records err/syscall and returns -1, the failure value of numeric calls.
inline Napi::Value Fail(Napi::Env env, AddonData* data, int err,
                        Syscall syscall) {
  data->Set(err, syscall);
  return Napi::Number::New(env, -1);
}

// For plain functions, whose callback data is the AddonData (not for
// ObjectWrap methods, whose callback data is per method).
inline Napi::Value Fail(const Napi::CallbackInfo& info, int err,
                        Syscall syscall) {
  return Fail(info.Env(), Data(info), err, syscall);
}

}  // namespace kqc

#endif  // KQUEUE_CONSOLE_ADDON_DATA_H_
