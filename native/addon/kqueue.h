// The dedicated kqueue: one kqueue fd, watched by the loop of the Node
// environment that made it (waker.h says how the loop wakes).
#ifndef KQUEUE_CONSOLE_KQUEUE_H_
#define KQUEUE_CONSOLE_KQUEUE_H_

#include <napi.h>

namespace kqc {

// Readiness bits delivered to JavaScript, per registration id. kExited: the
// process spawned under that id has exited (EVFILT_PROC, NOTE_EXIT).
enum ReadyBits : uint32_t {
  kReadable = 1,
  kWritable = 2,
  kHangup = 4,
  kExited = 8
};

void InitKqueue(Napi::Env env, Napi::Object exports, void* data);

}  // namespace kqc

#endif  // KQUEUE_CONSOLE_KQUEUE_H_
