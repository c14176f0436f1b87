// The owned descriptor: closed once, on every path, and moved, not copied.
#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <utility>

#include "common/unique_fd.h"

namespace {

bool IsOpen(int fd) { return fcntl(fd, F_GETFD) != -1; }

int OpenNull() {
  const int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  return fd;
}

}  // namespace

TEST_CASE("A descriptor is closed when its owner goes") {
  int raw = -1;
  {
    knock::UniqueFd fd(OpenNull());
    raw = fd.get();
    CHECK(fd.valid());
    CHECK(IsOpen(raw));
  }
  CHECK_FALSE(IsOpen(raw));
}

TEST_CASE("Moving hands the descriptor over; it is closed once") {
  knock::UniqueFd first(OpenNull());
  const int raw = first.get();
  knock::UniqueFd second(std::move(first));
  CHECK_FALSE(first.valid());  // NOLINT: moved-from is defined as empty
  CHECK(second.get() == raw);
  knock::UniqueFd third;
  third = std::move(second);
  CHECK(third.get() == raw);
  CHECK(IsOpen(raw));
  third.Reset();
  CHECK_FALSE(IsOpen(raw));
  CHECK_FALSE(third.valid());
}

TEST_CASE("Reset closes the old descriptor; Release gives it away") {
  knock::UniqueFd fd(OpenNull());
  const int old = fd.get();
  fd.Reset(OpenNull());
  CHECK_FALSE(IsOpen(old));
  const int released = fd.Release();
  CHECK_FALSE(fd.valid());
  CHECK(IsOpen(released));
  close(released);
}

TEST_CASE("Close reports close()'s result and leaves nothing to close") {
  knock::UniqueFd fd(OpenNull());
  CHECK(fd.Close());
  CHECK_FALSE(fd.valid());
  CHECK(fd.Close());  // nothing held: nothing failed
}
