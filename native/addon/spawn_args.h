// spawn()'s request read from JavaScript: the Node-API half of
// core/spawn.h, which stays free of Node so that fork and exec belong to
// the tier built and tested without it.
#ifndef KQUEUE_CONSOLE_SPAWN_ARGS_H_
#define KQUEUE_CONSOLE_SPAWN_ARGS_H_

#include <napi.h>

#include <string>
#include <vector>

#include "../core/spawn.h"
#include "args.h"

namespace kqc {

inline bool ArgStrings(const Napi::CallbackInfo& info, size_t i,
                       std::vector<std::string>* out) {
  if (!info[i].IsArray()) return ThrowType(info.Env(), "expected an array");
  Napi::Array array = info[i].As<Napi::Array>();
  for (uint32_t k = 0; k < array.Length(); k++) {
    Napi::Value v = array.Get(k);
    if (!v.IsString()) return ThrowType(info.Env(), "expected strings");
    out->push_back(v.As<Napi::String>().Utf8Value());
  }
  return true;
}

// Reads spawn()'s arguments from JavaScript, starting at info[first]:
// paths, argv and envp (arrays of strings), cwd (a string, or null), the
// slave fd. False with a JavaScript exception pending when one is wrong.
inline bool ArgSpawnRequest(const Napi::CallbackInfo& info, size_t first,
                            SpawnRequest* out) {
  if (!ArgStrings(info, first, &out->paths) ||
      !ArgStrings(info, first + 1, &out->argv) ||
      !ArgStrings(info, first + 2, &out->envp)) {
    return false;
  }
  Napi::Value cwd = info[first + 3];
  if (cwd.IsString()) {
    out->cwd = cwd.As<Napi::String>().Utf8Value();
  } else if (!cwd.IsNull()) {
    return ThrowType(info.Env(), "expected a string or null");
  }
  return ArgFd(info, first + 4, &out->slave);
}

}  // namespace kqc

#endif  // KQUEUE_CONSOLE_SPAWN_ARGS_H_
