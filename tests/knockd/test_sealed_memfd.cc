// Configuration text handed over as a sealed memfd: it reads back whole,
// cannot be changed, and an unsealed or oversized one is refused.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "knockd/shared/sealed_memfd.h"

namespace {

/// Closes a descriptor when the test ends, pass or fail.
class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ~ScopedFd() {
    if (fd_ >= 0) close(fd_);
  }
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

int MakeSealed(const std::string& text) {
  int fd = -1;
  std::string err;
  INFO(err);
  REQUIRE(knock::MakeSealedMemfd("knockd.toml", text, &fd, &err));
  REQUIRE(fd >= 0);
  return fd;
}

int MakeUnsealed(const std::string& text, unsigned flags) {
  const int fd = memfd_create("unsealed", MFD_CLOEXEC | flags);
  REQUIRE(fd >= 0);
  REQUIRE(write(fd, text.data(), text.size()) ==
          static_cast<ssize_t>(text.size()));
  return fd;
}

}  // namespace

TEST_CASE("a sealed memfd carries its text back", "[privsep]") {
  std::string text = "[knock]\nstep = \"30s\"\n";
  for (int i = 0; i < 5000; ++i)
    text += "# padding line " + std::to_string(i) + "\n";
  const ScopedFd fd(MakeSealed(text));
  CHECK((fcntl(fd.get(), F_GETFD) & FD_CLOEXEC) != 0);
  CHECK(lseek(fd.get(), 0, SEEK_CUR) == static_cast<off_t>(text.size()));
  std::string read_back;
  std::string err;
  INFO(err);
  REQUIRE(knock::ReadSealedMemfd(fd.get(), text.size(), &read_back, &err));
  CHECK(read_back == text);
  // Reading twice gives the same text: the reader does not move the offset.
  std::string again;
  REQUIRE(knock::ReadSealedMemfd(fd.get(), text.size(), &again, &err));
  CHECK(again == text);
}

TEST_CASE("an empty sealed memfd reads as empty text", "[privsep]") {
  const ScopedFd fd(MakeSealed(""));
  std::string read_back = "stale";
  std::string err;
  REQUIRE(knock::ReadSealedMemfd(fd.get(), 0, &read_back, &err));
  CHECK(read_back.empty());
}

TEST_CASE("a sealed memfd cannot be changed", "[privsep]") {
  const ScopedFd fd(MakeSealed("original"));
  const int seals = fcntl(fd.get(), F_GET_SEALS);
  CHECK(seals == (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE));
  CHECK(pwrite(fd.get(), "X", 1, 0) == -1);
  CHECK(ftruncate(fd.get(), 2) == -1);
  CHECK(ftruncate(fd.get(), 100) == -1);
  CHECK(fcntl(fd.get(), F_ADD_SEALS, 0) == -1);
  std::string read_back;
  std::string err;
  REQUIRE(knock::ReadSealedMemfd(fd.get(), 100, &read_back, &err));
  CHECK(read_back == "original");
}

TEST_CASE("an unsealed memfd is refused", "[privsep]") {
  std::string read_back;
  std::string err;
  SECTION("sealing allowed but not done") {
    const ScopedFd fd(MakeUnsealed("text", MFD_ALLOW_SEALING));
    CHECK_FALSE(knock::ReadSealedMemfd(fd.get(), 100, &read_back, &err));
    CHECK(err == "the memfd is not sealed (seals 0)");
  }
  SECTION("sealing never allowed") {
    const ScopedFd fd(MakeUnsealed("text", 0));
    CHECK_FALSE(knock::ReadSealedMemfd(fd.get(), 100, &read_back, &err));
    CHECK(err == "the memfd is not sealed (seals 1)");
  }
  SECTION("sealed against writes but free to grow") {
    const ScopedFd fd(MakeUnsealed("text", MFD_ALLOW_SEALING));
    REQUIRE(fcntl(fd.get(), F_ADD_SEALS,
                  F_SEAL_SEAL | F_SEAL_WRITE | F_SEAL_SHRINK) == 0);
    CHECK_FALSE(knock::ReadSealedMemfd(fd.get(), 100, &read_back, &err));
    CHECK(err == "the memfd is not sealed (seals 11)");
  }
  SECTION("a pipe is no memfd") {
    int pipe_fds[2];
    REQUIRE(pipe(pipe_fds) == 0);
    const ScopedFd read_end(pipe_fds[0]);
    const ScopedFd write_end(pipe_fds[1]);
    CHECK_FALSE(knock::ReadSealedMemfd(read_end.get(), 100, &read_back, &err));
    CHECK(err == "reading the memfd's seals: Invalid argument");
  }
  CHECK(read_back.empty());
}

TEST_CASE("a sealed memfd bigger than the limit is refused", "[privsep]") {
  const ScopedFd fd(MakeSealed("0123456789A"));
  std::string read_back = "unchanged";
  std::string err;
  CHECK_FALSE(knock::ReadSealedMemfd(fd.get(), 10, &read_back, &err));
  CHECK(err == "the memfd holds 11 bytes, more than 10");
  CHECK(read_back == "unchanged");
  REQUIRE(knock::ReadSealedMemfd(fd.get(), 11, &read_back, &err));
  CHECK(read_back == "0123456789A");
}
