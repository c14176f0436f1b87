// The relay on Windows: a console or a pipe cannot be waited on together
// with a socket, so standard input is read on a thread of its own, and the
// connection on the calling thread. Both block; neither busy-loops.

#include <fcntl.h>
#include <io.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "knock/lib/relay.h"

namespace knock {

namespace {

constexpr size_t kBufferBytes = 64 * 1024;

/// What the two directions report: the first failure, and whether the
/// standard input direction has ended.
struct Shared {
  std::mutex mutex;
  std::string err;
  bool up_done = false;

  void Fail(const std::string& message) {
    std::lock_guard<std::mutex> lock(mutex);
    if (err.empty()) err = message;
  }
};

bool WriteAllFd(int fd, const char* data, size_t size) {
  while (size > 0) {
    const int n = _write(fd, data, static_cast<unsigned>(size));
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool SendAll(SocketHandle socket, const char* data, size_t size) {
  while (size > 0) {
    const int64_t n = SendSome(socket, data, size);
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// Standard input -> connection; EOF becomes a half-close.
void Upstream(int in_fd, SocketHandle socket, std::shared_ptr<Shared> shared) {
  std::vector<char> buffer(kBufferBytes);
  for (;;) {
    const int n = _read(in_fd, buffer.data(), kBufferBytes);
    if (n < 0) {
      shared->Fail(std::string("cannot read standard input: ") +
                   strerror(errno));
      break;
    }
    if (n == 0) {
      ShutdownSending(socket);
      break;
    }
    if (!SendAll(socket, buffer.data(), static_cast<size_t>(n))) {
      shared->Fail("the connection was closed by the server");
      break;
    }
  }
  std::lock_guard<std::mutex> lock(shared->mutex);
  shared->up_done = true;
}

}  // namespace

bool Relay(int in_fd, int out_fd, SocketHandle socket_fd, std::string* err) {
  // Binary both ways: an ssh session is bytes, not lines of text.
  _setmode(in_fd, _O_BINARY);
  _setmode(out_fd, _O_BINARY);
  SetBlocking(socket_fd, true);
  auto shared = std::make_shared<Shared>();
  std::thread up(Upstream, in_fd, socket_fd, shared);
  std::vector<char> buffer(kBufferBytes);
  bool reader_gone = false;
  for (;;) {
    const int64_t n = ReceiveSome(socket_fd, buffer.data(), kBufferBytes);
    if (n == 0) break;
    if (n < 0) {
      const int error = LastSocketError();
      // After our own half-close a reset is just the server's way to end.
      shared->Fail(error == WSAECONNRESET
                       ? "the connection was reset by the server"
                       : "cannot read from the connection: " +
                             SocketErrorText(error));
      break;
    }
    if (!WriteAllFd(out_fd, buffer.data(), static_cast<size_t>(n))) {
      reader_gone = true;  // whoever read standard output has gone
      break;
    }
  }
  _close(out_fd);
  bool failed;
  {
    std::lock_guard<std::mutex> lock(shared->mutex);
    failed = !shared->err.empty();
  }
  if (failed || reader_gone) {
    // The input thread may sit in a read of a console that nobody will
    // type into again; the process ends soon after, and takes it along.
    up.detach();
  } else {
    up.join();
  }
  std::lock_guard<std::mutex> lock(shared->mutex);
  if (shared->err.empty()) return true;
  *err = shared->err;
  return false;
}

}  // namespace knock
