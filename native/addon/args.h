// Argument checks for the addon's internal surface. The TypeScript layer
// validates user input first with Node's error codes (src/validators.ts);
// these only keep a wrong call from reaching a system call with garbage.
#ifndef KQUEUE_CONSOLE_ARGS_H_
#define KQUEUE_CONSOLE_ARGS_H_

#include <napi.h>
#include <stdint.h>

namespace kqc {

inline bool ThrowType(Napi::Env env, const char* what) {
  Napi::TypeError e = Napi::TypeError::New(env, what);
  e.Set("code", Napi::String::New(env, "ERR_INVALID_ARG_TYPE"));
  e.ThrowAsJavaScriptException();
  return false;
}

// The checks below make one Node-API call per argument on the hot path (the
// getter refuses a value of the wrong type), not a type query and a getter:
// read() and write() run them for every call from JavaScript.

inline bool ArgInt(const Napi::CallbackInfo& info, size_t i, int64_t* out) {
  if (napi_get_value_int64(info.Env(), info[i], out) == napi_ok) return true;
  *out = 0;
  return ThrowType(info.Env(), "expected a number");
}

inline bool ArgFd(const Napi::CallbackInfo& info, size_t i, int* fd) {
  *fd = -1;
  int64_t v = -1;
  if (!ArgInt(info, i, &v)) return false;
  if (v < 0 || v > INT32_MAX) return ThrowType(info.Env(), "expected an fd");
  *fd = static_cast<int>(v);
  return true;
}

// An optional boolean: absent or undefined is false. Read, never coerced:
// coercion (ToBoolean) may call into JavaScript, so Node-API refuses it
// while a Worker is being terminated, and node-addon-api then aborts the
// process building the error. A read or a kevent() can be that late.
inline bool ArgFlag(const Napi::CallbackInfo& info, size_t i, bool* out) {
  *out = false;
  napi_value v = info[i];
  if (napi_get_value_bool(info.Env(), v, out) == napi_ok) return true;
  napi_valuetype type;  // The getter wrote nothing: *out is still false.
  if (napi_typeof(info.Env(), v, &type) == napi_ok && type == napi_undefined) {
    return true;  // Also past the last argument.
  }
  return ThrowType(info.Env(), "expected a boolean");
}

// The bytes of a Uint8Array (a Buffer is one).
struct Bytes {
  uint8_t* data = nullptr;
  size_t length = 0;
};

// False, with nothing thrown, when v is not a Uint8Array.
inline bool BytesOf(napi_env env, napi_value v, Bytes* out) {
  napi_typedarray_type type;
  size_t length;
  void* data;
  // Refuses (napi_invalid_arg) whatever is not a typed array.
  if (napi_get_typedarray_info(env, v, &type, &length, &data, nullptr,
                               nullptr) != napi_ok ||
      type != napi_uint8_array) {
    return false;
  }
  out->data = static_cast<uint8_t*>(data);
  out->length = length;
  return true;
}

inline bool ArgBytes(const Napi::CallbackInfo& info, size_t i, Bytes* out) {
  if (BytesOf(info.Env(), info[i], out)) return true;
  return ThrowType(info.Env(), "expected a Uint8Array");
}

}  // namespace kqc

#endif  // KQUEUE_CONSOLE_ARGS_H_
