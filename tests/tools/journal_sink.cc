// journal_sink: a stand-in for journald's native socket. Binds a datagram
// socket at PATH and appends every datagram it receives to FILE, followed
// by a line "--", until it is killed. The journald end-to-end test points
// knockd at it inside a private mount namespace.
//
//   journal_sink PATH FILE

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

namespace {

constexpr size_t kMaxDatagramBytes = 65536;

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: journal_sink PATH FILE\n");
    return 2;
  }
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (strlen(argv[1]) >= sizeof address.sun_path) return 2;
  strcpy(address.sun_path, argv[1]);
  unlink(argv[1]);
  const int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  if (fd < 0 ||
      bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    perror("journal_sink: bind");
    return 1;
  }
  fprintf(stderr, "journal_sink: listening on %s\n", argv[1]);
  static char buffer[kMaxDatagramBytes];
  for (;;) {
    const ssize_t got = recv(fd, buffer, sizeof buffer, 0);
    if (got < 0) continue;
    FILE* out = fopen(argv[2], "a");
    if (out == nullptr) return 1;
    fwrite(buffer, 1, static_cast<size_t>(got), out);
    fputs("--\n", out);
    fclose(out);
  }
}
