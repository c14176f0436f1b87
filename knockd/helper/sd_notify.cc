#include "knockd/helper/sd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "common/clock.h"
#include "common/unique_fd.h"

namespace knock {

bool NotifySystemd(const std::string& state, std::string* err) {
  const char* path = getenv("NOTIFY_SOCKET");
  if (path == nullptr || *path == '\0') return true;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const size_t length = strlen(path);
  if ((path[0] != '/' && path[0] != '@') || length >= sizeof address.sun_path) {
    *err = "NOTIFY_SOCKET is not a socket path \"" + std::string(path) + "\"";
    return false;
  }
  memcpy(address.sun_path, path, length);
  // A leading '@' names a socket in the abstract namespace.
  if (path[0] == '@') address.sun_path[0] = '\0';
  const UniqueFd fd(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    *err = std::string("sd_notify socket: ") + strerror(errno);
    return false;
  }
  const socklen_t address_length =
      static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + length);
  const bool sent =
      sendto(fd.get(), state.data(), state.size(), MSG_NOSIGNAL,
             reinterpret_cast<sockaddr*>(&address),
             address_length) == static_cast<ssize_t>(state.size());
  if (!sent)
    *err = "sd_notify to " + std::string(path) + ": " + strerror(errno);
  return sent;
}

std::string ReloadingState() {
  return "RELOADING=1\nMONOTONIC_USEC=" + std::to_string(MonotonicMicros());
}

}  // namespace knock
