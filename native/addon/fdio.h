// Reads and writes on non-blocking fds: counts and errno out, never a throw.
#ifndef KQUEUE_CONSOLE_FDIO_H_
#define KQUEUE_CONSOLE_FDIO_H_

#include <napi.h>

namespace kqc {

void InitFdio(Napi::Env env, Napi::Object exports, void* data);

}  // namespace kqc

#endif  // KQUEUE_CONSOLE_FDIO_H_
