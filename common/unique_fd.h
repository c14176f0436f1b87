#pragma once
// An owned file descriptor: closed when it goes out of scope, so that no
// early return on an error path can leak one, and moved, never copied.

#include <unistd.h>

#include <utility>

namespace knock {

/// Owns one descriptor (or none, -1) and closes it in its destructor.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { Reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.Release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) Reset(other.Release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }

  /// Gives up ownership without closing; the caller closes what it gets.
  int Release() { return std::exchange(fd_, -1); }

  /// Closes the descriptor held, if any, and holds `fd` instead.
  void Reset(int fd = -1) {
    const int old = std::exchange(fd_, fd);
    if (old >= 0) ::close(old);
  }

  /// Closes now and says whether close() succeeded: for a file just
  /// written, a late write error (NFS, quotas) is reported only here.
  bool Close() {
    const int old = std::exchange(fd_, -1);
    return old < 0 || ::close(old) == 0;
  }

 private:
  int fd_ = -1;
};

}  // namespace knock
