// The proxy relay over socketpairs: both directions, half-closes, a reader
// that goes away, a server that goes away.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <future>
#include <string>
#include <thread>

#include "knock/lib/relay.h"

namespace {

/// The three connections of a relay, seen from the test: `stdin_w` feeds
/// the relay's input, `stdout_r` reads its output, `server` is the far end
/// of its TCP connection.
struct Harness {
  int stdin_w, stdin_r, stdout_w, stdout_r, server, socket;
  Harness() {
    int in[2], out[2], sock[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, in) == 0);
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, out) == 0);
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sock) == 0);
    stdin_w = in[0];
    stdin_r = in[1];
    stdout_r = out[0];
    stdout_w = out[1];
    server = sock[0];
    socket = sock[1];
  }
  ~Harness() {
    for (int fd : {stdin_w, stdin_r, stdout_r, server, socket})
      if (fd >= 0) close(fd);
  }
  // Runs the relay on its own thread; stdout_w then belongs to it.
  std::future<std::pair<bool, std::string>> Start() {
    return std::async(std::launch::async, [this] {
      std::string err;
      bool ok = knock::Relay(stdin_r, stdout_w, socket, &err);
      return std::make_pair(ok, err);
    });
  }
};

void WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    REQUIRE(n > 0);
    done += n;
  }
}

// Reads until EOF, giving up after 5 s of silence; safe on any thread
// (no Catch macros), so a failure shows as a missing "<EOF>".
std::string ReadToEof(int fd) {
  std::string data;
  char buffer[65536];
  for (;;) {
    pollfd entry{fd, POLLIN, 0};
    if (poll(&entry, 1, 5000) != 1) return data + "<timeout>";
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0) return data + "<error>";
    if (n == 0) return data + "<EOF>";
    data.append(buffer, n);
  }
}

// Sends everything, from any thread.
void SendAll(int fd, const std::string& data) {
  for (size_t done = 0; done < data.size();) {
    ssize_t n = send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return;
    done += n;
  }
}

std::string Pattern(size_t bytes, char seed) {
  std::string data(bytes, '\0');
  for (size_t i = 0; i < bytes; ++i) data[i] = static_cast<char>(seed + i * 7);
  return data;
}

}  // namespace

TEST_CASE("relay carries both directions and passes half-closes on",
          "[relay]") {
  Harness h;
  auto relay = h.Start();
  // Larger than every socket buffer on the way, both ways at once: a relay
  // that blocked on one side would deadlock here.
  const std::string up = Pattern(3 << 20, 1), down = Pattern(3 << 20, 5);
  auto output = std::async(std::launch::async, ReadToEof, h.stdout_r);
  std::thread client([&] {
    SendAll(h.stdin_w, up);
    shutdown(h.stdin_w, SHUT_WR);  // ssh closed our stdin
  });
  std::thread server_writer([&] { SendAll(h.server, down); });
  // The server sees all input, then EOF: the relay shut down its side.
  CHECK(ReadToEof(h.server) == up + "<EOF>");
  server_writer.join();
  client.join();
  // Still open the other way after the half-close.
  WriteAll(h.server, "after the half-close");
  shutdown(h.server, SHUT_WR);
  CHECK(output.get() == down + "after the half-close<EOF>");
  REQUIRE(relay.wait_for(std::chrono::seconds(5)) == std::future_status::ready);
  auto [ok, err] = relay.get();
  CHECK(ok);
  CHECK(err.empty());
  // The relay puts the input back in blocking mode.
  CHECK((fcntl(h.stdin_r, F_GETFL) & O_NONBLOCK) == 0);
  CHECK((fcntl(h.socket, F_GETFL) & O_NONBLOCK) == 0);
}

TEST_CASE("relay ends when the reader of its output goes away", "[relay]") {
  Harness h;
  auto relay = h.Start();
  close(h.stdout_r);
  h.stdout_r = -1;
  WriteAll(h.server, "nobody reads this");
  REQUIRE(relay.wait_for(std::chrono::seconds(5)) == std::future_status::ready);
  CHECK(relay.get().first);
}

TEST_CASE("relay fails when the server is gone and input remains", "[relay]") {
  Harness h;
  auto relay = h.Start();
  close(h.server);
  h.server = -1;
  CHECK(ReadToEof(h.stdout_r) == "<EOF>");  // the server's EOF came through
  WriteAll(h.stdin_w, "too late");
  REQUIRE(relay.wait_for(std::chrono::seconds(5)) == std::future_status::ready);
  auto [ok, err] = relay.get();
  CHECK_FALSE(ok);
  CHECK(err == "the connection was closed by the server");
}
