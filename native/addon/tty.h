// Terminal operations: pty pairs, window size, termios, tty names.
#ifndef KQUEUE_CONSOLE_TTY_H_
#define KQUEUE_CONSOLE_TTY_H_

#include <napi.h>

namespace kqc {

void InitTty(Napi::Env env, Napi::Object exports, void* data);

}  // namespace kqc

#endif  // KQUEUE_CONSOLE_TTY_H_
