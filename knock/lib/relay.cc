#include "knock/lib/relay.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

namespace knock {

namespace {

constexpr size_t kBufferBytes = 64 * 1024;

/// One direction of the relay: bytes read from `from` wait in `buffer` until
/// they are written to `to`; at EOF, `finish` passes the end on.
struct Direction {
  int from = -1;
  int to = -1;
  bool to_is_socket = false;
  int to_flags = -1;  // restored on `to` before it is closed
  std::vector<char> buffer = std::vector<char>(kBufferBytes);
  size_t start = 0;
  size_t end = 0;
  bool eof = false;
  bool finished = false;

  size_t pending() const { return end - start; }
  bool wants_read() const { return !eof && end < buffer.size(); }
};

/// The outcome of one read or write.
enum class Step { kOk, kPeerGone, kFailed };

/// Remembers a descriptor's flags and puts it in non-blocking mode, so that
/// one slow side never stalls the other; the flags come back on exit (a
/// terminal on standard input must not stay non-blocking for the shell).
class NonBlocking {
 public:
  explicit NonBlocking(int fd) : fd_(fd), flags_(fcntl(fd, F_GETFL)) {
    if (flags_ >= 0) fcntl(fd_, F_SETFL, flags_ | O_NONBLOCK);
  }
  ~NonBlocking() { Restore(); }
  void Restore() {
    if (flags_ >= 0) fcntl(fd_, F_SETFL, flags_);
    flags_ = -1;
  }

 private:
  int fd_;
  int flags_;
};

std::string Failure(const char* what, int error) {
  return std::string(what) + ": " + strerror(error);
}

Step ReadSome(Direction* d, std::string* err) {
  ssize_t n =
      read(d->from, d->buffer.data() + d->end, d->buffer.size() - d->end);
  if (n > 0) d->end += static_cast<size_t>(n);
  if (n == 0) d->eof = true;
  if (n >= 0 || errno == EAGAIN || errno == EINTR) return Step::kOk;
  if (errno == ECONNRESET) {
    *err = "the connection was reset by the server";
    return Step::kFailed;
  }
  *err = Failure(d->to_is_socket ? "cannot read standard input"
                                 : "cannot read from the connection",
                 errno);
  return Step::kFailed;
}

ssize_t WriteOnce(int fd, const char* data, size_t size) {
  // A vanished peer is an error value here, not a SIGPIPE.
  ssize_t n = SendSome(fd, data, size);
  if (n < 0 && errno == ENOTSOCK) n = write(fd, data, size);
  return n;
}

Step WriteSome(Direction* d, std::string* err) {
  ssize_t n = WriteOnce(d->to, d->buffer.data() + d->start, d->pending());
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return Step::kOk;
  if (n < 0 && !d->to_is_socket && errno == EPIPE) return Step::kPeerGone;
  if (n < 0) {
    *err = errno == ECONNRESET || errno == EPIPE
               ? "the connection was closed by the server"
               : Failure(d->to_is_socket ? "cannot write to the connection"
                                         : "cannot write standard output",
                         errno);
    return Step::kFailed;
  }
  d->start += static_cast<size_t>(n);
  if (d->start == d->end) d->start = d->end = 0;
  return Step::kOk;
}

// Standard output is closed rather than shut down: it is usually a pipe.
void CloseOutput(Direction* d) {
  if (d->to_flags >= 0) fcntl(d->to, F_SETFL, d->to_flags);
  close(d->to);
}

void FinishIfDrained(Direction* d) {
  if (!d->eof || d->pending() > 0 || d->finished) return;
  d->finished = true;
  if (d->to_is_socket)
    shutdown(d->to, SHUT_WR);
  else
    CloseOutput(d);
}

// Runs the poll loop over both directions until both are finished.
bool Pump(Direction* up, Direction* down, std::string* err) {
  Direction* directions[2] = {up, down};
  while (!up->finished || !down->finished) {
    pollfd fds[4];
    Direction* owner[4];
    bool is_read[4];
    nfds_t count = 0;
    for (Direction* d : directions) {
      if (d->finished) continue;
      if (d->wants_read()) {
        fds[count] = {d->from, POLLIN, 0};
        owner[count] = d;
        is_read[count++] = true;
      }
      if (d->pending() > 0) {
        fds[count] = {d->to, POLLOUT, 0};
        owner[count] = d;
        is_read[count++] = false;
      }
    }
    if (poll(fds, count, -1) < 0) {
      if (errno == EINTR) continue;
      *err = Failure("poll", errno);
      return false;
    }
    for (nfds_t i = 0; i < count; ++i) {
      if (fds[i].revents == 0) continue;
      Step step =
          is_read[i] ? ReadSome(owner[i], err) : WriteSome(owner[i], err);
      if (step == Step::kPeerGone) return true;
      if (step == Step::kFailed) return false;
    }
    for (Direction* d : directions) FinishIfDrained(d);
  }
  return true;
}

}  // namespace

bool Relay(int in_fd, int out_fd, SocketHandle socket_fd, std::string* err) {
  Direction up;  // standard input -> connection
  up.from = in_fd;
  up.to = socket_fd;
  up.to_is_socket = true;
  Direction down;  // connection -> standard output
  down.from = socket_fd;
  down.to = out_fd;
  down.to_flags = fcntl(out_fd, F_GETFL);
  if (down.to_flags >= 0) fcntl(out_fd, F_SETFL, down.to_flags | O_NONBLOCK);

  NonBlocking in_mode(in_fd);
  NonBlocking socket_mode(socket_fd);
  bool ok = Pump(&up, &down, err);
  if (!down.finished) CloseOutput(&down);
  return ok;
}

}  // namespace knock
