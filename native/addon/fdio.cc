// read/write/writev on non-blocking fds.
//
// The contract with the TypeScript stream: each call goes on until it has
// moved every byte asked for or the fd says stop, and returns the count. When
// it stopped short, status[errno] says why: EAGAIN (or EIO on a pty whose
// other side is gone) means "wait for the next edge"; 0 after a short read
// means end of file; anything else is an error. EINTR is retried here.

#include "fdio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <vector>

#include "addon_data.h"
#include "args.h"

namespace kqc {
namespace {

// Bounds-checked view of (buffer, offset, length) arguments.
bool ArgRange(const Napi::CallbackInfo& info, size_t i, uint8_t** data,
              size_t* len) {
  Bytes buf;
  int64_t off, n;
  if (!ArgBytes(info, i, &buf) || !ArgInt(info, i + 1, &off) ||
      !ArgInt(info, i + 2, &n)) {
    return false;
  }
  // Compared apart: off + n may overflow (the getter saturates huge values).
  if (off < 0 || n < 0 || static_cast<uint64_t>(off) > buf.length ||
      static_cast<uint64_t>(n) > buf.length - static_cast<uint64_t>(off)) {
    Napi::RangeError e =
        Napi::RangeError::New(info.Env(), "offset/length out of range");
    e.Set("code", Napi::String::New(info.Env(), "ERR_OUT_OF_RANGE"));
    e.ThrowAsJavaScriptException();
    return false;
  }
  *data = buf.data + off;
  *len = static_cast<size_t>(n);
  return true;
}

// Reads shorter than this are small: interactive traffic (an echo, a
// prompt). After a larger one more is likely on its way, and reading on is
// cheaper than waiting for an edge.
constexpr ssize_t kSmallRead = 1024;

// read(fd, buffer, offset, length, noWait, stopSmall) -> bytes read.
// Loops read(2) until the buffer is full or the fd runs dry: a pty master
// hands out at most about 4 KiB per read, so this batches many reads into
// one call from JavaScript. Two early stops, each reported as EAGAIN (what
// follows is the same: wait for the edge the kernel raises for new bytes);
// when each may be asked for is src/read-policy.ts's contract.
// - stopSmall: stop after a read of fewer than kSmallRead bytes that did not
//   fill the buffer, instead of another read(2) to hear EAGAIN.
// - noWait: once some bytes are in, stop when FIONREAD says nothing is
//   queued, instead of a read(2) that on Linux first waits for the tty's
//   flush worker even on a non-blocking fd (tty_buffer_flush_work()).
Napi::Value Read(const Napi::CallbackInfo& info) {
  int fd;
  uint8_t* p;
  size_t len;
  bool no_wait, stop_small;
  if (!ArgFd(info, 0, &fd) || !ArgRange(info, 1, &p, &len) ||
      !ArgFlag(info, 4, &no_wait) || !ArgFlag(info, 5, &stop_small)) {
    return Napi::Value();
  }
  size_t done = 0;
  int err = 0;
  while (done < len) {
    int queued;
    if (no_wait && done > 0 && ioctl(fd, FIONREAD, &queued) == 0 &&
        queued == 0) {
      err = EAGAIN;
      break;
    }
    ssize_t r = read(fd, p + done, len - done);
    if (r > 0) {
      done += static_cast<size_t>(r);
      if (stop_small && r < kSmallRead && done < len) {
        err = EAGAIN;
        break;
      }
      continue;
    }
    if (r == 0) break;  // End of file: err stays 0.
    if (errno == EINTR) continue;
    err = errno;
    break;
  }
  Data(info)->Set(err, kSysRead);
  return Napi::Number::New(info.Env(), static_cast<double>(done));
}

// write(fd, buffer, offset, length) -> bytes written.
Napi::Value Write(const Napi::CallbackInfo& info) {
  int fd;
  uint8_t* p;
  size_t len;
  if (!ArgFd(info, 0, &fd) || !ArgRange(info, 1, &p, &len))
    return Napi::Value();
  size_t done = 0;
  int err = 0;
  while (done < len) {
    ssize_t r = write(fd, p + done, len - done);
    if (r >= 0) {
      done += static_cast<size_t>(r);
      continue;
    }
    if (errno == EINTR) continue;
    err = errno;
    break;
  }
  Data(info)->Set(err, kSysWrite);
  return Napi::Number::New(info.Env(), static_cast<double>(done));
}

// The iovecs of the Uint8Arrays in info[i], after skipping `skip` bytes of
// the first ones. False with a JavaScript exception pending when info[i] is
// not an array of them.
bool ArgIovecs(const Napi::CallbackInfo& info, size_t i, int64_t skip,
               std::vector<struct iovec>* iov) {
  if (!info[i].IsArray()) return ThrowType(info.Env(), "expected an array");
  Napi::Array chunks = info[i].As<Napi::Array>();
  uint32_t count = chunks.Length();
  iov->reserve(count);
  for (uint32_t c = 0; c < count; c++) {
    Bytes b;
    Napi::Value v = chunks[c];
    if (!BytesOf(info.Env(), v, &b)) {
      return ThrowType(info.Env(), "expected an array of Uint8Array");
    }
    size_t n = b.length;
    uint8_t* p = b.data;
    if (skip > 0) {
      size_t s = static_cast<size_t>(skip) < n ? static_cast<size_t>(skip) : n;
      p += s;
      n -= s;
      skip -= static_cast<int64_t>(s);
    }
    if (n > 0) iov->push_back({p, n});
  }
  return true;
}

// Writes all of `iov` (IOV_MAX at a time), or until writev() fails; returns
// the bytes written, with *err the errno that stopped it (0: all of it).
size_t WritevAll(int fd, std::vector<struct iovec>& iov, int* err) {
  size_t done = 0;
  size_t first = 0;
  *err = 0;
  while (first < iov.size()) {
    int cnt = static_cast<int>(iov.size() - first < IOV_MAX ? iov.size() - first
                                                            : IOV_MAX);
    ssize_t r = writev(fd, &iov[first], cnt);
    if (r < 0) {
      if (errno == EINTR) continue;
      *err = errno;
      break;
    }
    size_t left = static_cast<size_t>(r);
    done += left;
    while (first < iov.size() && left >= iov[first].iov_len) {
      left -= iov[first].iov_len;
      first++;
    }
    if (left > 0) {
      iov[first].iov_base = static_cast<uint8_t*>(iov[first].iov_base) + left;
      iov[first].iov_len -= left;
    }
  }
  return done;
}

// writev(fd, chunks, skip) -> bytes written, of the chunks after skipping
// `skip` bytes of the first ones (what an earlier short write already sent).
Napi::Value Writev(const Napi::CallbackInfo& info) {
  int fd;
  int64_t skip;
  std::vector<struct iovec> iov;
  if (!ArgFd(info, 0, &fd) || !ArgInt(info, 2, &skip) ||
      !ArgIovecs(info, 1, skip, &iov)) {
    return Napi::Value();
  }
  int err;
  size_t done = WritevAll(fd, iov, &err);
  Data(info)->Set(err, kSysWritev);
  return Napi::Number::New(info.Env(), static_cast<double>(done));
}

// setNonBlocking(fd, on) -> whether O_NONBLOCK was set before, or -1.
Napi::Value SetNonBlocking(const Napi::CallbackInfo& info) {
  int fd;
  bool on;
  if (!ArgFd(info, 0, &fd) || !ArgFlag(info, 1, &on)) return Napi::Value();
  int flags = fcntl(fd, F_GETFL);
  if (flags == -1) return Fail(info, errno, kSysFcntl);
  bool was = (flags & O_NONBLOCK) != 0;
  if (was != on &&
      fcntl(fd, F_SETFL, on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK)) ==
          -1) {
    return Fail(info, errno, kSysFcntl);
  }
  return Napi::Number::New(info.Env(), was ? 1 : 0);
}

// dup(fd) -> a new fd for the same open file, close-on-exec, or -1.
Napi::Value Dup(const Napi::CallbackInfo& info) {
  int fd;
  if (!ArgFd(info, 0, &fd)) return Napi::Value();
  int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) return Fail(info, errno, kSysFcntl);
  Data(info)->owned.insert(copy);
  return Napi::Number::New(info.Env(), copy);
}

// own(fd): the library owns fd from now on (autoClose of an fd number).
Napi::Value Own(const Napi::CallbackInfo& info) {
  int fd;
  if (!ArgFd(info, 0, &fd)) return Napi::Value();
  Data(info)->owned.insert(fd);
  return info.Env().Undefined();
}

// closeOwned(fd) -> 0, or -1. Closes an fd the library owns; refuses (EBADF)
// one it does not, so that it can never close a caller's fd.
Napi::Value CloseOwned(const Napi::CallbackInfo& info) {
  int fd;
  if (!ArgFd(info, 0, &fd)) return Napi::Value();
  if (Data(info)->owned.erase(fd) == 0) return Fail(info, EBADF, kSysClose);
  // close(2) releases the fd even when it reports an error (EINTR, EIO), so
  // it is never retried: the number may already belong to someone else.
  if (close(fd) != 0) return Fail(info, errno, kSysClose);
  return Napi::Number::New(info.Env(), 0);
}

// fileKind(fd) -> 1 for a regular file, 2 for a directory, 0 for anything
// else, or -1. Here and not through Node's fs.fstatSync: Deno's fs takes
// its own resource ids, not the fds the library hands out.
Napi::Value FileKind(const Napi::CallbackInfo& info) {
  int fd;
  if (!ArgFd(info, 0, &fd)) return Napi::Value();
  mode_t mode;
#if defined(KQC_PORTABLE)
  // fstat is a symbol of glibc 2.33 (before, an inline over __fxstat);
  // statx(2) is in glibc 2.28, the prebuilt binaries' floor.
  struct statx stx;
  if (statx(fd, "", AT_EMPTY_PATH, STATX_TYPE, &stx) != 0) {
    return Fail(info, errno, kSysFstat);
  }
  mode = stx.stx_mode;
#else
  struct stat st;
  if (fstat(fd, &st) != 0) return Fail(info, errno, kSysFstat);
  mode = st.st_mode;
#endif
  int kind = S_ISREG(mode) ? 1 : S_ISDIR(mode) ? 2 : 0;
  return Napi::Number::New(info.Env(), kind);
}

// peerUid(fd) -> the uid of the process at the other end of a connected
// Unix socket, as the kernel recorded it at connect(2) or listen(2), or -1:
// SO_PEERCRED on Linux (unix(7)), getpeereid(3) on macOS and the BSDs.
Napi::Value PeerUid(const Napi::CallbackInfo& info) {
  int fd;
  if (!ArgFd(info, 0, &fd)) return Napi::Value();
  // Linux answers SO_PEERCRED on any socket, with uid -1 where no
  // credentials were passed (a TCP socket): only a Unix socket's count.
  struct sockaddr_storage addr;
  socklen_t addr_len = sizeof addr;
  if (getsockname(fd, reinterpret_cast<struct sockaddr*>(&addr), &addr_len) !=
      0) {
    return Fail(info, errno, kSysGetsockname);
  }
  if (addr.ss_family != AF_UNIX)
    return Fail(info, EAFNOSUPPORT, kSysGetsockname);
#if defined(SO_PEERCRED) && defined(__linux__)
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    return Fail(info, errno, kSysGetsockopt);
  }
  return Napi::Number::New(info.Env(), static_cast<double>(cred.uid));
#else
  uid_t uid;
  gid_t gid;
  if (getpeereid(fd, &uid, &gid) != 0) return Fail(info, errno, kSysGetsockopt);
  return Napi::Number::New(info.Env(), static_cast<double>(uid));
#endif
}

}  // namespace

void InitFdio(Napi::Env env, Napi::Object exports, void* data) {
  exports.Set("read", Napi::Function::New(env, Read, "read", data));
  exports.Set("write", Napi::Function::New(env, Write, "write", data));
  exports.Set("writev", Napi::Function::New(env, Writev, "writev", data));
  exports.Set("dup", Napi::Function::New(env, Dup, "dup", data));
  exports.Set("own", Napi::Function::New(env, Own, "own", data));
  exports.Set("closeOwned",
              Napi::Function::New(env, CloseOwned, "closeOwned", data));
  exports.Set("fileKind", Napi::Function::New(env, FileKind, "fileKind", data));
  exports.Set("peerUid", Napi::Function::New(env, PeerUid, "peerUid", data));
  exports.Set("setNonBlocking",
              Napi::Function::New(env, SetNonBlocking, "setNonBlocking", data));
}

}  // namespace kqc
