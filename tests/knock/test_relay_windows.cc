// The relay as Windows runs it (a thread for standard input): pipes for
// standard input and output, a loopback TCP connection for the server, as
// OpenSSH for Windows gives `knock proxy` pipes. Built into the Windows
// unit tests only (knock_client_tests.exe under wine).
#include <fcntl.h>
#include <io.h>

#include <catch2/catch.hpp>
#include <future>
#include <string>
#include <thread>

#include "knock/lib/port_probe.h"
#include "knock/lib/relay.h"
#include "portable_test_support.h"

namespace {

/// A listening loopback socket and the client end connected to it.
struct Connection {
  knock::SocketHandle listener = knock::kNoSocket;
  knock::SocketHandle client = knock::kNoSocket;
  knock::SocketHandle server = knock::kNoSocket;
  Connection() {
    knock::StartSockets();
    listener = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(listener, reinterpret_cast<sockaddr*>(&address),
                 sizeof address) == 0);
    REQUIRE(listen(listener, 1) == 0);
    int length = sizeof address;
    getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
    knock::ResolvedAddress target;
    std::string err;
    REQUIRE(knock::ResolveHost("127.0.0.1", knock::AddressFamily::kV4, &target,
                               &err));
    int error = 0;
    client = knock::ConnectWithTimeout(
        knock::WithPort(target, ntohs(address.sin_port)), 2000, &error);
    REQUIRE(client != knock::kNoSocket);
    server = accept(listener, nullptr, nullptr);
    REQUIRE(server != knock::kNoSocket);
  }
  ~Connection() {
    for (knock::SocketHandle s : {listener, client, server})
      if (s != knock::kNoSocket) knock::CloseSocket(s);
  }
};

std::string ReadToEof(int fd) {
  std::string data;
  char buffer[4096];
  int n;
  while ((n = _read(fd, buffer, sizeof buffer)) > 0) data.append(buffer, n);
  return n == 0 ? data + "<EOF>" : data + "<error>";
}

std::string ReceiveToEof(knock::SocketHandle s) {
  std::string data;
  char buffer[4096];
  int64_t n;
  while ((n = knock::ReceiveSome(s, buffer, sizeof buffer)) > 0)
    data.append(buffer, static_cast<size_t>(n));
  return n == 0 ? data + "<EOF>" : data + "<error>";
}

}  // namespace

TEST_CASE("the Windows relay carries both directions and passes EOFs on",
          "[relay]") {
  Connection connection;
  int in[2], out[2];
  REQUIRE(pipe(in) == 0);
  REQUIRE(pipe(out) == 0);
  // Binary: bytes like \r\n and \x1a must pass unchanged.
  const std::string upstream = std::string("ssh\r\n\x1a\0end", 10);
  const std::string downstream = std::string("banner\r\n\x00\xff", 10);
  auto relay = std::async(std::launch::async, [&] {
    std::string err;
    const bool ok = knock::Relay(in[0], out[1], connection.client, &err);
    return std::make_pair(ok, err);
  });
  REQUIRE(_write(in[1], upstream.data(), upstream.size()) ==
          static_cast<int>(upstream.size()));
  _close(in[1]);  // EOF on standard input: a half-close towards the server
  CHECK(ReceiveToEof(connection.server) == upstream + "<EOF>");
  REQUIRE(knock::SendSome(connection.server, downstream.data(),
                          downstream.size()) ==
          static_cast<int64_t>(downstream.size()));
  knock::ShutdownSending(connection.server);
  CHECK(ReadToEof(out[0]) == downstream + "<EOF>");
  const auto [ok, err] = relay.get();
  CHECK(ok);
  CHECK(err.empty());
  _close(in[0]);
  _close(out[0]);
}
