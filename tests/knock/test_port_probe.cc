// --wait: connect attempts until a port opens, bounded, not hammering, and
// knocking again halfway.
#include <catch2/catch.hpp>
#include <chrono>

#include "knock/lib/port_probe.h"

namespace {

/// A TCP socket bound to a free port of 127.0.0.1, listening or not.
struct LocalPort {
  knock::SocketHandle fd = knock::kNoSocket;
  uint16_t port = 0;
  LocalPort() {
    knock::StartSockets();
    fd = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd != knock::kNoSocket);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) ==
            0);
    socklen_t length = sizeof address;
    getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    port = ntohs(address.sin_port);
  }
  ~LocalPort() { knock::CloseSocket(fd); }
  void Listen() { REQUIRE(listen(fd, 8) == 0); }
  knock::ResolvedAddress Address() const {
    knock::ResolvedAddress address;
    std::string err;
    REQUIRE(knock::ResolveHost("127.0.0.1", knock::AddressFamily::kV4, &address,
                               &err));
    return knock::WithPort(address, port);
  }
};

}  // namespace

TEST_CASE("an open port is found at the first attempt", "[port_probe]") {
  LocalPort port;
  port.Listen();
  knock::WaitPlan plan;
  int halfway_calls = 0;
  plan.at_halfway = [&] { ++halfway_calls; };
  knock::WaitResult result = knock::WaitForPort(port.Address(), plan);
  CHECK(result.open);
  CHECK(result.attempts == 1);
  CHECK(halfway_calls == 0);
  REQUIRE(result.fd != knock::kNoSocket);
  CHECK(knock::SendSome(result.fd, "x", 1) == 1);
  knock::CloseSocket(result.fd);
}

TEST_CASE("a closed port times out after paced attempts and one re-knock",
          "[port_probe]") {
  LocalPort port;  // bound, not listening: connections are refused at once
  knock::WaitPlan plan;
  plan.timeout_ms = 600;
  plan.first_attempt_ms = 100;
  plan.attempt_ms = 100;
  int halfway_calls = 0;
  plan.at_halfway = [&] { ++halfway_calls; };
  knock::WaitResult result = knock::WaitForPort(port.Address(), plan);
  CHECK_FALSE(result.open);
  CHECK(result.fd == knock::kNoSocket);
  CHECK(halfway_calls == 1);
  CHECK(result.elapsed_ms >= 600);
  CHECK(result.elapsed_ms < 900);
  // One attempt per 100 ms, not a busy loop.
  CHECK(result.attempts >= 5);
  CHECK(result.attempts <= 7);
}

TEST_CASE("attempts start short and double up to their budget",
          "[port_probe]") {
  LocalPort port;
  knock::WaitPlan plan;
  plan.timeout_ms = 600;
  plan.first_attempt_ms = 5;
  plan.fast_attempts = 1;
  plan.attempt_ms = 100;
  knock::WaitResult result = knock::WaitForPort(port.Address(), plan);
  CHECK_FALSE(result.open);
  // 5, 10, 20, 40, 80 ms, then every 100 ms: ten attempts in 600 ms.
  CHECK(result.attempts >= 9);
  CHECK(result.attempts <= 11);
}

TEST_CASE("a port that opens while waiting is found", "[port_probe]") {
  LocalPort port;
  knock::WaitPlan plan;
  plan.timeout_ms = 2000;
  plan.attempt_ms = 100;
  // The "second knock" is what opens it.
  plan.at_halfway = [&] { port.Listen(); };
  knock::WaitResult result = knock::WaitForPort(port.Address(), plan);
  CHECK(result.open);
  CHECK(result.attempts > 1);
  CHECK(result.elapsed_ms >= 1000);
  CHECK(result.elapsed_ms < 1500);
  if (result.fd != knock::kNoSocket) knock::CloseSocket(result.fd);
}

TEST_CASE("one attempt is bounded by its timeout", "[port_probe]") {
  // 2001:db8::/32 is for documentation: nothing answers, or the network is
  // unreachable at once; either way the call returns within its budget.
  knock::ResolvedAddress address;
  std::string err;
  REQUIRE(knock::ResolveHost("2001:db8::1", knock::AddressFamily::kV6, &address,
                             &err));
  const auto start = std::chrono::steady_clock::now();
  int error = 0;
  CHECK(knock::ConnectWithTimeout(knock::WithPort(address, 22), 200, &error) ==
        knock::kNoSocket);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(error != 0);
  CHECK(elapsed < std::chrono::milliseconds(400));
}
