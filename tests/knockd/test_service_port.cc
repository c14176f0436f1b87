// Protected service ports: "tcp/22", "udp/53".
#include <catch2/catch.hpp>

#include "knockd/shared/service_port.h"

namespace {

std::string ParseError(const std::string& text) {
  knock::ServicePort port;
  std::string err;
  REQUIRE_FALSE(knock::ParseServicePort(text, &port, &err));
  return err;
}

}  // namespace

TEST_CASE("ParseServicePort reads tcp and udp ports") {
  knock::ServicePort port;
  std::string err;
  REQUIRE(knock::ParseServicePort("tcp/22", &port, &err));
  CHECK(port.transport == knock::Transport::kTcp);
  CHECK(port.port == 22);
  CHECK(port.ToString() == "tcp/22");
  REQUIRE(knock::ParseServicePort("udp/53", &port, &err));
  CHECK(port.transport == knock::Transport::kUdp);
  CHECK(port.port == 53);
  CHECK(port.ToString() == "udp/53");
  REQUIRE(knock::ParseServicePort("udp/65535", &port, &err));
  CHECK(port.port == 65535);
}

TEST_CASE("ParseServicePort refuses anything else, quoting it") {
  CHECK(ParseError("22") ==
        "not a service port \"22\" (use tcp/PORT or udp/PORT)");
  CHECK(ParseError("sctp/22") ==
        "not a service port \"sctp/22\" (use tcp/PORT or udp/PORT)");
  CHECK(ParseError("TCP/22") ==
        "not a service port \"TCP/22\" (use tcp/PORT or udp/PORT)");
  CHECK(ParseError("tcp/0") ==
        "not a service port \"tcp/0\" (the port is one of 1-65535)");
  CHECK(ParseError("tcp/65536") ==
        "not a service port \"tcp/65536\" (the port is one of 1-65535)");
  CHECK(ParseError("tcp/22-23") ==
        "not a service port \"tcp/22-23\" (the port is one of 1-65535)");
  CHECK(ParseError("tcp/") ==
        "not a service port \"tcp/\" (the port is one of 1-65535)");
  CHECK(ParseError("tcp/ssh") ==
        "not a service port \"tcp/ssh\" (the port is one of 1-65535)");
}
