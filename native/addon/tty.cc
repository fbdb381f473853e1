// Terminal operations. Termios is handed to JavaScript as opaque bytes, so
// that reset() restores exactly what was saved, byte for byte, on every
// platform's struct layout.

#include "tty.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <mutex>
#include <string>

#include "../core/session.h"
#include "addon_data.h"
#include "args.h"

namespace kqc {
namespace {

// ptsname(3) returns a static buffer; where ptsname_r is missing, a lock
// keeps two Node environments (worker threads) from sharing it at once.
bool SlaveName(int master, std::string* out) {
#if defined(__linux__)
  char buf[PATH_MAX];
  if (ptsname_r(master, buf, sizeof(buf)) != 0) return false;
  *out = buf;
  return true;
#else
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  const char* name = ptsname(master);
  if (name == nullptr) return false;
  *out = name;
  return true;
#endif
}

// openPty() -> [master, slave, slavePath], or null.
// The master is opened O_RDWR|O_NOCTTY|O_CLOEXEC; the slave the same way, so
// that opening it never makes it the caller's controlling terminal.
Napi::Value OpenPty(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AddonData* d = Data(info);
  int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) {
    d->Set(errno, kSysPosixOpenpt);
    return env.Null();
  }
  Syscall failed = kSysNone;
  std::string name;
  if (grantpt(master) != 0) {
    failed = kSysGrantpt;
  } else if (unlockpt(master) != 0) {
    failed = kSysUnlockpt;
  } else if (!SlaveName(master, &name)) {
    failed = kSysPtsname;
  }
  int slave = -1;
  if (failed == kSysNone) {
    slave = open(name.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0) failed = kSysOpen;
  }
  if (failed != kSysNone) {
    int err = errno;
    close(master);
    d->Set(err, failed);
    return env.Null();
  }
  d->owned.insert(master);
  d->owned.insert(slave);
  Napi::Array out = Napi::Array::New(env, 3);
  out.Set(0u, Napi::Number::New(env, master));
  out.Set(1u, Napi::Number::New(env, slave));
  out.Set(2u, Napi::String::New(env, name));
  return out;
}

// getWinsize(fd) -> [rows, cols, xpixel, ypixel], or null.
Napi::Value GetWinsize(const Napi::CallbackInfo& info) {
  int fd;
  if (!ArgFd(info, 0, &fd)) return Napi::Value();
  struct winsize ws = {};
  if (ioctl(fd, TIOCGWINSZ, &ws) != 0) {
    Data(info)->Set(errno, kSysIoctl);
    return info.Env().Null();
  }
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env, 4);
  out.Set(0u, Napi::Number::New(env, ws.ws_row));
  out.Set(1u, Napi::Number::New(env, ws.ws_col));
  out.Set(2u, Napi::Number::New(env, ws.ws_xpixel));
  out.Set(3u, Napi::Number::New(env, ws.ws_ypixel));
  return out;
}

// setWinsize(fd, rows, cols, xpixel, ypixel) -> 0 or -1.
Napi::Value SetWinsize(const Napi::CallbackInfo& info) {
  int fd;
  int64_t v[4];
  if (!ArgFd(info, 0, &fd)) return Napi::Value();
  for (size_t i = 0; i < 4; i++) {
    if (!ArgInt(info, i + 1, &v[i])) return Napi::Value();
  }
  struct winsize ws = {};
  ws.ws_row = static_cast<unsigned short>(v[0]);
  ws.ws_col = static_cast<unsigned short>(v[1]);
  ws.ws_xpixel = static_cast<unsigned short>(v[2]);
  ws.ws_ypixel = static_cast<unsigned short>(v[3]);
  if (ioctl(fd, TIOCSWINSZ, &ws) != 0) return Fail(info, errno, kSysIoctl);
  return Napi::Number::New(info.Env(), 0);
}

// tcgetattr(fd) -> Buffer holding a struct termios, or null.
Napi::Value TcGetAttr(const Napi::CallbackInfo& info) {
  int fd;
  if (!ArgFd(info, 0, &fd)) return Napi::Value();
  // Zeroed, so that the struct's padding is the same every time and a saved
  // termios compares (and restores) byte for byte.
  struct termios t;
  memset(&t, 0, sizeof(t));
  if (tcgetattr(fd, &t) != 0) {
    Data(info)->Set(errno, kSysTcgetattr);
    return info.Env().Null();
  }
  return Napi::Buffer<uint8_t>::Copy(
      info.Env(), reinterpret_cast<const uint8_t*>(&t), sizeof(t));
}

bool ArgTermios(const Napi::CallbackInfo& info, size_t i, struct termios* t) {
  Bytes b;
  if (!ArgBytes(info, i, &b)) return false;
  if (b.length != sizeof(*t)) {
    return ThrowType(info.Env(), "expected a termios buffer");
  }
  memcpy(t, b.data, sizeof(*t));
  return true;
}

// tcsetattr(fd, termios) -> 0 or -1. Applied at once (TCSANOW), as
// containerd/console does, so a mode change never waits on unread output.
Napi::Value TcSetAttr(const Napi::CallbackInfo& info) {
  int fd;
  struct termios t;
  if (!ArgFd(info, 0, &fd) || !ArgTermios(info, 1, &t)) return Napi::Value();
  if (tcsetattr(fd, TCSANOW, &t) != 0) return Fail(info, errno, kSysTcsetattr);
  return Napi::Number::New(info.Env(), 0);
}

Napi::Value TermiosCopy(const Napi::CallbackInfo& info,
                        const struct termios& t) {
  return Napi::Buffer<uint8_t>::Copy(
      info.Env(), reinterpret_cast<const uint8_t*>(&t), sizeof(t));
}

// makeRaw(termios, opost) -> a copy with cfmakeraw(3) applied, and OPOST
// set again when asked, as containerd/console's SetRaw does (console_unix.go)
// so that a local terminal still turns "\n" into "\r\n".
Napi::Value MakeRaw(const Napi::CallbackInfo& info) {
  struct termios t;
  bool opost;
  if (!ArgTermios(info, 0, &t) || !ArgFlag(info, 1, &opost))
    return Napi::Value();
  cfmakeraw(&t);
  if (opost) t.c_oflag |= OPOST;
  return TermiosCopy(info, t);
}

// withONLCR(termios, on) -> a copy with ONLCR set or cleared (containerd/
// console's SetONLCR/ClearONLCR).
Napi::Value WithOnlcr(const Napi::CallbackInfo& info) {
  struct termios t;
  bool on;
  if (!ArgTermios(info, 0, &t) || !ArgFlag(info, 1, &on)) return Napi::Value();
  if (on) {
    t.c_oflag |= ONLCR;
  } else {
    t.c_oflag &= ~static_cast<tcflag_t>(ONLCR);
  }
  return TermiosCopy(info, t);
}

// unlockPty(masterFd) -> 0, or -1: grantpt(3) and unlockpt(3) on a master
// the caller opened (containerd/console's NewPtyFromFile).
Napi::Value UnlockPty(const Napi::CallbackInfo& info) {
  int fd;
  if (!ArgFd(info, 0, &fd)) return Napi::Value();
  if (grantpt(fd) != 0) return Fail(info, errno, kSysGrantpt);
  if (unlockpt(fd) != 0) return Fail(info, errno, kSysUnlockpt);
  return Napi::Number::New(info.Env(), 0);
}

// withoutEcho(termios) -> a copy with ECHO cleared.
Napi::Value WithoutEcho(const Napi::CallbackInfo& info) {
  struct termios t;
  if (!ArgTermios(info, 0, &t)) return Napi::Value();
  t.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  return TermiosCopy(info, t);
}

// eofChar(termios) -> the character that ends input (VEOF) when the terminal
// is in canonical mode, or -1: in noncanonical mode no character does, and
// VEOF's slot is VMIN's on some systems (termios(3)).
Napi::Value EofChar(const Napi::CallbackInfo& info) {
  struct termios t;
  if (!ArgTermios(info, 0, &t)) return Napi::Value();
  bool canonical = (t.c_lflag & ICANON) != 0;
  int c = canonical && t.c_cc[VEOF] != _POSIX_VDISABLE ? t.c_cc[VEOF] : -1;
  return Napi::Number::New(info.Env(), c);
}

Napi::Value IsATty(const Napi::CallbackInfo& info) {
  int fd;
  if (!ArgFd(info, 0, &fd)) return Napi::Value();
  return Napi::Boolean::New(info.Env(), isatty(fd) == 1);
}

// ttyname(fd) -> string, or null.
Napi::Value TtyName(const Napi::CallbackInfo& info) {
  int fd;
  if (!ArgFd(info, 0, &fd)) return Napi::Value();
  char buf[PATH_MAX];
  int err = ttyname_r(fd, buf, sizeof(buf));
  if (err != 0) {
    Data(info)->Set(err, kSysTtyname);
    return info.Env().Null();
  }
  return Napi::String::New(info.Env(), buf);
}

// ptsname(masterFd) -> string, or null.
Napi::Value PtsName(const Napi::CallbackInfo& info) {
  int fd;
  if (!ArgFd(info, 0, &fd)) return Napi::Value();
  std::string name;
  if (!SlaveName(fd, &name)) {
    Data(info)->Set(errno, kSysPtsname);
    return info.Env().Null();
  }
  return Napi::String::New(info.Env(), name);
}

// signalSession(sid, signal, leaderReaped) -> the number of processes
// signalled, or -1: every live process of the session (core/session.h).
Napi::Value SignalSessionOf(const Napi::CallbackInfo& info) {
  int64_t sid, sig;
  bool leader_reaped;
  if (!ArgInt(info, 0, &sid) || !ArgInt(info, 1, &sig) ||
      !ArgFlag(info, 2, &leader_reaped)) {
    return Napi::Value();
  }
  Syscall failed = kSysNone;
  int n = SignalSession(static_cast<pid_t>(sid), static_cast<int>(sig),
                        leader_reaped, &failed);
  if (n < 0) {
    Data(info)->Set(-n, failed);
    return Napi::Number::New(info.Env(), -1);
  }
  return Napi::Number::New(info.Env(), n);
}

}  // namespace

void InitTty(Napi::Env env, Napi::Object exports, void* data) {
  struct Entry {
    const char* name;
    Napi::Value (*fn)(const Napi::CallbackInfo&);
  };
  const Entry entries[] = {
      {"openPty", OpenPty},
      {"getWinsize", GetWinsize},
      {"setWinsize", SetWinsize},
      {"tcgetattr", TcGetAttr},
      {"tcsetattr", TcSetAttr},
      {"makeRaw", MakeRaw},
      {"withoutEcho", WithoutEcho},
      {"withONLCR", WithOnlcr},
      {"unlockPty", UnlockPty},
      {"isatty", IsATty},
      {"ttyname", TtyName},
      {"ptsname", PtsName},
      {"signalSession", SignalSessionOf},
      {"eofChar", EofChar},
  };
  for (const Entry& e : entries) {
    exports.Set(e.name, Napi::Function::New(env, e.fn, e.name, data));
  }
}

}  // namespace kqc
