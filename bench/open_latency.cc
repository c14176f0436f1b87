// bench_open_latency: the knock-to-open stopwatch. Sends the knocks (TCP
// SYNs to given ports, or one UDP datagram such as an fwknop SPA packet)
// back to back, then tries a non-blocking connect to the protected port
// every --retry-ms until one completes, and prints the milliseconds from the
// first knock to that connect. `listen` mode is the protected service.
//
//   bench_open_latency knock --dest IP --port P [--source IP] [--syn P1,P2,..]
//       [--udp-payload-file F --udp-port P] [--retry-ms N] [--timeout-ms N]
//   bench_open_latency listen PORT SECONDS

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

/// What the command line asked for in `knock` mode.
struct Options {
  std::string dest, source, udp_payload;
  int port = 0, udp_port = 0, retry_ms = 1, timeout_ms = 3000;
  std::vector<int> syn_ports;
};

int64_t NowUs() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return int64_t{now.tv_sec} * 1000000 + now.tv_nsec / 1000;
}

sockaddr_in Address(const std::string& ip, int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  return a;
}

// A non-blocking socket bound to the source address, if one was given.
int BoundSocket(const Options& o, int type) {
  const int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0 || o.source.empty()) return fd;
  sockaddr_in from = Address(o.source, 0);
  if (bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0) {
    fprintf(stderr, "bench_open_latency: cannot bind \"%s\": %s\n",
            o.source.c_str(), strerror(errno));
    close(fd);
    return -1;
  }
  return fd;
}

// Closes a connecting socket without a FIN or a retransmitted SYN.
void Abandon(int fd) {
  linger no_linger{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &no_linger, sizeof no_linger);
  close(fd);
}

bool SendKnocks(const Options& o) {
  for (int port : o.syn_ports) {
    const int fd = BoundSocket(o, SOCK_STREAM);
    if (fd < 0) return false;
    sockaddr_in to = Address(o.dest, port);
    connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to);
    Abandon(fd);
  }
  if (o.udp_port == 0) return true;
  const int fd = BoundSocket(o, SOCK_DGRAM);
  if (fd < 0) return false;
  sockaddr_in to = Address(o.dest, o.udp_port);
  const bool sent = sendto(fd, o.udp_payload.data(), o.udp_payload.size(), 0,
                           reinterpret_cast<sockaddr*>(&to), sizeof to) >= 0;
  close(fd);
  return sent;
}

// One connect attempt, given `wait_ms` to complete: true once it did.
bool TryConnect(const Options& o, int wait_ms) {
  const int fd = BoundSocket(o, SOCK_STREAM);
  if (fd < 0) return false;
  sockaddr_in to = Address(o.dest, o.port);
  int error =
      connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0 ? 0 : errno;
  if (error == EINPROGRESS) {
    pollfd entry{fd, POLLOUT, 0};
    error = ETIMEDOUT;
    if (poll(&entry, 1, wait_ms) == 1) {
      socklen_t length = sizeof error;
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
    }
  }
  if (error == 0) {
    close(fd);
    return true;
  }
  Abandon(fd);
  if (error == ECONNREFUSED) usleep(wait_ms * 1000);
  return false;
}

bool ParseKnockOptions(int argc, char** argv, Options* o) {
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--dest")
      o->dest = value;
    else if (flag == "--source")
      o->source = value;
    else if (flag == "--port")
      o->port = atoi(value.c_str());
    else if (flag == "--udp-port")
      o->udp_port = atoi(value.c_str());
    else if (flag == "--retry-ms")
      o->retry_ms = atoi(value.c_str());
    else if (flag == "--timeout-ms")
      o->timeout_ms = atoi(value.c_str());
    else if (flag == "--syn") {
      std::stringstream list(value);
      for (std::string port; std::getline(list, port, ',');)
        o->syn_ports.push_back(atoi(port.c_str()));
    } else if (flag == "--udp-payload-file") {
      std::ifstream in(value);
      std::getline(in, o->udp_payload);
    } else {
      return false;
    }
  }
  return !o->dest.empty() && o->port > 0 && argc % 2 == 0;
}

int Knock(int argc, char** argv) {
  Options o;
  if (!ParseKnockOptions(argc, argv, &o)) {
    fprintf(stderr, "bench_open_latency: bad knock options\n");
    return 2;
  }
  const int64_t start_us = NowUs();
  if (!SendKnocks(o)) return 1;
  while (NowUs() - start_us < o.timeout_ms * 1000LL) {
    if (TryConnect(o, o.retry_ms)) {
      printf("open_ms %.3f\n", (NowUs() - start_us) / 1000.0);
      return 0;
    }
  }
  printf("timeout\n");
  return 1;
}

int Listen(int port, int seconds) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in any = Address("0.0.0.0", port);
  if (bind(fd, reinterpret_cast<sockaddr*>(&any), sizeof any) != 0 ||
      listen(fd, 1024) != 0) {
    fprintf(stderr, "bench_open_latency: cannot listen on %d: %s\n", port,
            strerror(errno));
    return 1;
  }
  printf("listening\n");
  fflush(stdout);
  const int64_t end_us = NowUs() + seconds * 1000000LL;
  while (NowUs() < end_us) {
    pollfd entry{fd, POLLIN, 0};
    if (poll(&entry, 1, 200) == 1) {
      const int client = accept(fd, nullptr, nullptr);
      if (client >= 0) close(client);
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "knock") return Knock(argc, argv);
  if (mode == "listen" && argc == 4)
    return Listen(atoi(argv[2]), atoi(argv[3]));
  fprintf(stderr,
          "usage: bench_open_latency knock --dest IP --port P [options] | "
          "listen PORT SECONDS\n");
  return 2;
}
