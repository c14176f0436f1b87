// The sd_notify protocol against a real datagram socket.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>

#include "knockd/helper/sd_notify.h"

TEST_CASE("without NOTIFY_SOCKET nothing is sent and nothing fails",
          "[sd_notify]") {
  unsetenv("NOTIFY_SOCKET");
  std::string err;
  CHECK(knock::NotifySystemd("READY=1", &err));
}

TEST_CASE("messages arrive on the socket systemd names", "[sd_notify]") {
  const std::string path =
      "/tmp/knock-notify-" + std::to_string(getpid()) + ".sock";
  const int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  path.copy(address.sun_path, path.size());
  unlink(path.c_str());
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  setenv("NOTIFY_SOCKET", path.c_str(), 1);
  std::string err;
  REQUIRE(knock::NotifySystemd("READY=1", &err));
  REQUIRE(knock::NotifySystemd(knock::ReloadingState(), &err));
  unsetenv("NOTIFY_SOCKET");
  char buffer[128] = {};
  CHECK(recv(fd, buffer, sizeof buffer - 1, 0) == 7);
  CHECK(std::string(buffer) == "READY=1");
  char reload[128] = {};
  recv(fd, reload, sizeof reload - 1, 0);
  CHECK(std::string(reload).rfind("RELOADING=1\nMONOTONIC_USEC=", 0) == 0);
  close(fd);
  unlink(path.c_str());
}

TEST_CASE("a NOTIFY_SOCKET that is no path is refused by name", "[sd_notify]") {
  setenv("NOTIFY_SOCKET", "relative.sock", 1);
  std::string err;
  CHECK_FALSE(knock::NotifySystemd("READY=1", &err));
  unsetenv("NOTIFY_SOCKET");
  CHECK(err == "NOTIFY_SOCKET is not a socket path \"relative.sock\"");
}
