// The backend that enforces nothing only counts.
#include <catch2/catch.hpp>

#include "knockd/helper/no_firewall.h"

TEST_CASE("the none backend counts and opens nothing", "[none]") {
  knock::NoFirewall firewall;
  std::string err;
  CHECK(firewall.Setup({}, &err));
  knock::Grant grant;
  grant.ports = {{knock::Transport::kTcp, 22}, {knock::Transport::kUdp, 53}};
  CHECK(firewall.Open(grant, &err));
  CHECK(firewall.Open(grant, &err));
  CHECK(firewall.Flush(&err));
  CHECK(firewall.setups() == 1);
  CHECK(firewall.grants() == 2);
  CHECK(firewall.ports_opened() == 4);
  CHECK(firewall.flushes() == 1);
  CHECK(std::string(firewall.Name()) == "none");
  CHECK(err.empty());
}
