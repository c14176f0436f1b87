// The keys a reload refuses, named with their running and new values.
#include <catch2/catch.hpp>

#include "knockd/helper/restart_only_change.h"

TEST_CASE("a reload that changes no restart-only key passes") {
  knock::ServerConfig running, next;
  next.log_level = "debug";
  next.knock.seq_timeout_ms = 5000;
  CHECK(knock::RestartOnlyChange(running, next).empty());
}

TEST_CASE("each restart-only key is named with both values") {
  knock::ServerConfig running;
  SECTION("interfaces") {
    knock::ServerConfig next;
    next.interfaces = {"eth0", "eth1"};
    CHECK(knock::RestartOnlyChange(running, next) ==
          "interfaces ([\"any\"] -> [\"eth0\", \"eth1\"]) takes effect on "
          "restart only (systemctl restart knockd)");
  }
  SECTION("knock.ports") {
    knock::ServerConfig next;
    next.knock.ports = {20000, 29999};
    CHECK(knock::RestartOnlyChange(running, next) ==
          "knock.ports (\"16384-32767\" -> \"20000-29999\") takes effect on "
          "restart only (systemctl restart knockd)");
  }
  SECTION("knock.protocol") {
    knock::ServerConfig next;
    next.knock.protocol = knock::KnockProtocol::kUdp;
    CHECK(knock::RestartOnlyChange(running, next) ==
          "knock.protocol (\"tcp\" -> \"udp\") takes effect on restart only "
          "(systemctl restart knockd)");
  }
  SECTION("user") {
    knock::ServerConfig next;
    next.user = "nobody";
    CHECK(knock::RestartOnlyChange(running, next) ==
          "user (\"knockd\" -> \"nobody\") takes effect on restart only "
          "(systemctl restart knockd)");
  }
  SECTION("state_dir") {
    knock::ServerConfig next;
    next.state_dir = "/srv/knockd";
    CHECK(knock::RestartOnlyChange(running, next) ==
          "state_dir (\"/var/lib/knockd\" -> \"/srv/knockd\") takes effect on "
          "restart only (systemctl restart knockd)");
  }
  SECTION("several at once") {
    knock::ServerConfig next;
    next.interfaces = {"eth0"};
    next.knock.protocol = knock::KnockProtocol::kBoth;
    next.user = "nobody";
    CHECK(knock::RestartOnlyChange(running, next) ==
          "interfaces ([\"any\"] -> [\"eth0\"]), knock.protocol (\"tcp\" -> "
          "\"both\") and user (\"knockd\" -> \"nobody\") take effect on "
          "restart only (systemctl restart knockd)");
  }
}
