// Module init: one AddonData per Node environment, then each part's exports.

#include <napi.h>

#include "addon_data.h"
#include "fdio.h"
#include "kqueue.h"
#include "tty.h"

namespace kqc {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  Napi::Int32Array status = Napi::Int32Array::New(env, kStatusSlots);
  data->status = status.Data();
  data->status_ref = Napi::Persistent(status);
  env.SetInstanceData<AddonData>(data);  // Deleted with the environment.

  exports.Set("status", status);
  Napi::Array names = Napi::Array::New(env, kSysCount);
  for (uint32_t i = 0; i < kSysCount; i++) {
    names.Set(i, Napi::String::New(env, kSyscallNames[i]));
  }
  exports.Set("syscalls", names);

  InitFdio(env, exports, data);
  InitTty(env, exports, data);
  InitKqueue(env, exports, data);
  return exports;
}

}  // namespace kqc

// NODE_API_MODULE pastes its argument into a name, so it takes an unqualified
// function.
static Napi::Object InitKqueueConsole(Napi::Env env, Napi::Object exports) {
  return kqc::Init(env, exports);
}

NODE_API_MODULE(kqueue_console, InitKqueueConsole)
