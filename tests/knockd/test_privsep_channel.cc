// The socketpair between knockd's sniffer and its firewall helper: whole
// messages, their real length even when too long, and descriptors passed
// only to a receiver that asks for them.
#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <csignal>
#include <string>
#include <vector>

#include "knockd/shared/privsep_channel.h"
#include "knockd/shared/privsep_message.h"

namespace {

using knock::PrivsepChannel;
using knock::ReceiveResult;

void MakePair(PrivsepChannel* a, PrivsepChannel* b) {
  std::string err;
  INFO(err);
  REQUIRE(PrivsepChannel::MakePair(a, b, &err));
  REQUIRE(a->fd() >= 0);
  REQUIRE(b->fd() >= 0);
}

/// The number of descriptors this process holds now.
int OpenDescriptorCount() {
  DIR* listing = opendir("/proc/self/fd");
  REQUIRE(listing != nullptr);
  int count = 0;
  while (dirent* entry = readdir(listing)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(listing);
  return count;
}

}  // namespace

TEST_CASE("a channel pair carries whole messages both ways", "[privsep]") {
  PrivsepChannel sniffer;
  PrivsepChannel helper;
  MakePair(&sniffer, &helper);
  CHECK((fcntl(sniffer.fd(), F_GETFD) & FD_CLOEXEC) != 0);
  CHECK((fcntl(sniffer.fd(), F_GETFL) & O_NONBLOCK) != 0);
  int type = 0;
  socklen_t length = sizeof type;
  REQUIRE(getsockopt(sniffer.fd(), SOL_SOCKET, SO_TYPE, &type, &length) == 0);
  CHECK(type == SOCK_SEQPACKET);

  std::string err;
  REQUIRE(sniffer.Send(knock::EncodeReady(), -1, &err));
  REQUIRE(sniffer.Send(knock::EncodeReconfigured(true), -1, &err));
  REQUIRE(helper.WaitReadable(1000));
  std::vector<uint8_t> message;
  REQUIRE(helper.Receive(&message, nullptr, &err) == ReceiveResult::kMessage);
  CHECK(message == knock::EncodeReady());
  REQUIRE(helper.Receive(&message, nullptr, &err) == ReceiveResult::kMessage);
  CHECK(message == knock::EncodeReconfigured(true));

  REQUIRE(helper.Send(knock::EncodeShutdown(), -1, &err));
  REQUIRE(sniffer.Receive(&message, nullptr, &err) == ReceiveResult::kMessage);
  CHECK(message == knock::EncodeShutdown());
}

TEST_CASE("an empty channel has nothing to receive", "[privsep]") {
  PrivsepChannel sniffer;
  PrivsepChannel helper;
  MakePair(&sniffer, &helper);
  CHECK_FALSE(helper.WaitReadable(0));
  std::vector<uint8_t> message;
  std::string err;
  CHECK(helper.Receive(&message, nullptr, &err) == ReceiveResult::kNone);
  int passed_fd = 99;
  CHECK(helper.Receive(&message, &passed_fd, &err) == ReceiveResult::kNone);
  CHECK(passed_fd == -1);
}

TEST_CASE("a channel whose peer closed reports it closed", "[privsep]") {
  PrivsepChannel sniffer;
  PrivsepChannel helper;
  MakePair(&sniffer, &helper);
  std::string err;
  REQUIRE(sniffer.Send(knock::EncodeReady(), -1, &err));
  sniffer.Close();
  CHECK(sniffer.fd() == -1);
  std::vector<uint8_t> message;
  // What was sent before the close still arrives first.
  REQUIRE(helper.Receive(&message, nullptr, &err) == ReceiveResult::kMessage);
  CHECK(message == knock::EncodeReady());
  CHECK(helper.WaitReadable(1000));
  CHECK(helper.Receive(&message, nullptr, &err) == ReceiveResult::kClosed);
}

TEST_CASE("sending to a closed peer fails naming the message", "[privsep]") {
  PrivsepChannel sniffer;
  PrivsepChannel helper;
  MakePair(&sniffer, &helper);
  helper.Close();
  std::string err;
  CHECK_FALSE(sniffer.Send(knock::EncodeReady(), -1, &err));
  CHECK(err == "sending a ready message: Broken pipe");
}

TEST_CASE("a message too long arrives with its real size", "[privsep]") {
  PrivsepChannel sniffer;
  PrivsepChannel helper;
  MakePair(&sniffer, &helper);
  std::string err;
  std::vector<uint8_t> long_grant(300, 0x11);
  long_grant[0] = static_cast<uint8_t>(knock::PrivsepMessageType::kGrant);
  REQUIRE(sniffer.Send(long_grant, -1, &err));
  REQUIRE(sniffer.Send(knock::EncodeReady(), -1, &err));

  std::vector<uint8_t> message;
  REQUIRE(helper.Receive(&message, nullptr, &err) == ReceiveResult::kMessage);
  CHECK(message.size() == 300);
  knock::PrivsepMessage decoded;
  CHECK_FALSE(knock::DecodeSnifferMessage(message.data(), message.size(),
                                          &decoded, &err));
  CHECK(err == "grant message of 300 bytes, expected 169");
  // The tail was dropped with its message, not left for the next receive.
  REQUIRE(helper.Receive(&message, nullptr, &err) == ReceiveResult::kMessage);
  CHECK(message == knock::EncodeReady());
}

TEST_CASE("a descriptor passes to a receiver that asks for it", "[privsep]") {
  PrivsepChannel helper;
  PrivsepChannel sniffer;
  MakePair(&helper, &sniffer);
  int pipe_fds[2];
  REQUIRE(pipe(pipe_fds) == 0);
  std::string err;
  REQUIRE(helper.Send(knock::EncodeShutdown(), pipe_fds[0], &err));
  close(pipe_fds[0]);

  std::vector<uint8_t> message;
  int passed_fd = -1;
  REQUIRE(sniffer.Receive(&message, &passed_fd, &err) ==
          ReceiveResult::kMessage);
  CHECK(message == knock::EncodeShutdown());
  REQUIRE(passed_fd >= 0);
  CHECK((fcntl(passed_fd, F_GETFD) & FD_CLOEXEC) != 0);
  // The received descriptor is the pipe's read end.
  REQUIRE(write(pipe_fds[1], "x", 1) == 1);
  char got = 0;
  CHECK(read(passed_fd, &got, 1) == 1);
  CHECK(got == 'x');
  close(passed_fd);
  close(pipe_fds[1]);

  // A message without a descriptor leaves passed_fd at -1.
  REQUIRE(helper.Send(knock::EncodeShutdown(), -1, &err));
  passed_fd = 42;
  REQUIRE(sniffer.Receive(&message, &passed_fd, &err) ==
          ReceiveResult::kMessage);
  CHECK(passed_fd == -1);
}

TEST_CASE("a descriptor sent to a receiver that did not ask is dropped",
          "[privsep]") {
  PrivsepChannel helper;
  PrivsepChannel sniffer;
  MakePair(&helper, &sniffer);
  int pipe_fds[2];
  REQUIRE(pipe(pipe_fds) == 0);
  std::string err;
  constexpr int kRounds = 20;
  for (int i = 0; i < kRounds; ++i)
    REQUIRE(helper.Send(knock::EncodeShutdown(), pipe_fds[0], &err));
  close(pipe_fds[0]);

  const int before = OpenDescriptorCount();
  std::vector<uint8_t> message;
  for (int i = 0; i < kRounds; ++i) {
    REQUIRE(sniffer.Receive(&message, nullptr, &err) ==
            ReceiveResult::kMessage);
    CHECK(message == knock::EncodeShutdown());
  }
  CHECK(OpenDescriptorCount() == before);
  // With every copy of the read end gone, the pipe has no reader left.
  const sighandler_t old_handler = signal(SIGPIPE, SIG_IGN);
  const ssize_t wrote = write(pipe_fds[1], "x", 1);
  const int write_errno = errno;
  signal(SIGPIPE, old_handler);
  CHECK(wrote == -1);
  CHECK(write_errno == EPIPE);
  close(pipe_fds[1]);
}

TEST_CASE("a moved channel keeps its descriptor once", "[privsep]") {
  PrivsepChannel a;
  PrivsepChannel b;
  MakePair(&a, &b);
  const int fd = a.fd();
  PrivsepChannel moved(std::move(a));
  CHECK(a.fd() == -1);
  CHECK(moved.fd() == fd);
  PrivsepChannel assigned;
  assigned = std::move(moved);
  CHECK(moved.fd() == -1);
  CHECK(assigned.fd() == fd);
  std::string err;
  REQUIRE(assigned.Send(knock::EncodeReady(), -1, &err));
  std::vector<uint8_t> message;
  CHECK(b.Receive(&message, nullptr, &err) == ReceiveResult::kMessage);
}
