// send_knocks: sends a given list of ports as TCP SYNs or UDP datagrams from
// a chosen source address. The end-to-end tests use it as the attacker who
// replays a sniffed sequence from another address, and as a sprayer.
//
//   send_knocks [--udp] [--source ADDR] [--gap-ms N] DEST PORT[,PORT...]

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

bool ToSockaddr(const std::string& text, uint16_t port, sockaddr_storage* out,
                socklen_t* length) {
  std::memset(out, 0, sizeof *out);
  auto* v4 = reinterpret_cast<sockaddr_in*>(out);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(out);
  if (inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    *length = sizeof *v4;
    return true;
  }
  if (inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    *length = sizeof *v6;
    return true;
  }
  return false;
}

bool SendOne(const std::string& source, const std::string& dest, uint16_t port,
             bool udp) {
  sockaddr_storage to{}, from{};
  socklen_t to_length = 0, from_length = 0;
  if (!ToSockaddr(dest, port, &to, &to_length)) return false;
  const int fd = socket(
      to.ss_family,
      (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  if (!source.empty()) {
    if (!ToSockaddr(source, 0, &from, &from_length) ||
        bind(fd, reinterpret_cast<sockaddr*>(&from), from_length) != 0) {
      fprintf(stderr, "send_knocks: cannot bind %s: %s\n", source.c_str(),
              strerror(errno));
      close(fd);
      return false;
    }
  }
  bool sent;
  if (udp) {
    sent =
        sendto(fd, "", 0, 0, reinterpret_cast<sockaddr*>(&to), to_length) == 0;
  } else {
    // One SYN leaves; closing with linger 0 before any retransmission.
    sent = connect(fd, reinterpret_cast<sockaddr*>(&to), to_length) == 0 ||
           errno == EINPROGRESS;
    linger no_linger{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &no_linger, sizeof no_linger);
  }
  close(fd);
  return sent;
}

}  // namespace

int main(int argc, char** argv) {
  bool udp = false;
  std::string source;
  int gap_ms = 2;
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; ++i) {
    const std::string arg = argv[i];
    if (arg == "--udp") {
      udp = true;
    } else if (arg == "--source" && i + 1 < argc) {
      source = argv[++i];
    } else if (arg == "--gap-ms" && i + 1 < argc) {
      gap_ms = atoi(argv[++i]);
    } else {
      fprintf(stderr, "send_knocks: unknown option %s\n", arg.c_str());
      return 2;
    }
  }
  if (argc - i != 2) {
    fprintf(stderr,
            "usage: send_knocks [--udp] [--source ADDR] [--gap-ms N] DEST "
            "PORT[,PORT...]\n");
    return 2;
  }
  const std::string dest = argv[i];
  std::string list = argv[i + 1];
  for (char& c : list)
    if (c == ',') c = ' ';
  std::istringstream ports(list);
  int port;
  while (ports >> port) {
    if (!SendOne(source, dest, static_cast<uint16_t>(port), udp)) {
      fprintf(stderr, "send_knocks: cannot send to %s port %d\n", dest.c_str(),
              port);
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(gap_ms));
  }
  return 0;
}
