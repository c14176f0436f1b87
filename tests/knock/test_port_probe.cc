// --wait: connect attempts until a port opens, bounded, not hammering, and
// knocking again halfway.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "knock/lib/port_probe.h"

namespace {

/// A TCP socket bound to a free port of 127.0.0.1, listening or not.
struct LocalPort {
  int fd = -1;
  uint16_t port = 0;
  LocalPort() {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) ==
            0);
    socklen_t length = sizeof address;
    getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    port = ntohs(address.sin_port);
  }
  ~LocalPort() { close(fd); }
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
  REQUIRE(result.fd >= 0);
  CHECK(write(result.fd, "x", 1) == 1);
  close(result.fd);
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
  CHECK(result.fd == -1);
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
  if (result.fd >= 0) close(result.fd);
}

TEST_CASE("one attempt is bounded by its timeout", "[port_probe]") {
  // 2001:db8::/32 is for documentation: nothing answers, or the network is
  // unreachable at once; either way the call returns within its budget.
  knock::ResolvedAddress address;
  std::string err;
  REQUIRE(knock::ResolveHost("2001:db8::1", knock::AddressFamily::kV6, &address,
                             &err));
  timespec start{}, end{};
  clock_gettime(CLOCK_MONOTONIC, &start);
  int error = 0;
  CHECK(knock::ConnectWithTimeout(knock::WithPort(address, 22), 200, &error) ==
        -1);
  clock_gettime(CLOCK_MONOTONIC, &end);
  CHECK(error != 0);
  CHECK((end.tv_sec - start.tv_sec) * 1000 +
            (end.tv_nsec - start.tv_nsec) / 1000000 <
        400);
}
