#include <catch2/catch.hpp>

#include "common/ip_address.h"

namespace {

knock::AddressClass ClassOf(const std::string& text) {
  knock::IpAddress address;
  std::string err;
  REQUIRE(knock::IpAddress::Parse(text, &address, &err));
  return knock::ClassifyAddress(address);
}

std::string NameOf(const std::string& text) {
  return knock::AddressClassName(ClassOf(text));
}

}  // namespace

TEST_CASE("unicast addresses of both families are unicast") {
  for (const char* text :
       {"198.18.0.1", "1.0.0.0", "126.255.255.255", "128.0.0.1",
        "223.255.255.255", "169.254.1.1", "10.0.0.255", "240.0.0.1",
        "255.255.255.254", "2001:db8::1", "fe80::1", "::2", "::1:0:0:1",
        "fe02::1", "::fffe:c612:1"}) {
    INFO(text);
    CHECK(NameOf(text) == "unicast");
  }
}

TEST_CASE("the unspecified addresses and 0.0.0.0/8 are refused") {
  CHECK(NameOf("0.0.0.0") == "unspecified");
  CHECK(NameOf("0.1.2.3") == "unspecified");
  CHECK(NameOf("::") == "unspecified");
}

TEST_CASE("loopback addresses are classified as such") {
  CHECK(NameOf("127.0.0.1") == "loopback");
  CHECK(NameOf("127.255.255.254") == "loopback");
  CHECK(NameOf("::1") == "loopback");
}

TEST_CASE("only the limited broadcast address is broadcast") {
  CHECK(NameOf("255.255.255.255") == "broadcast");
  // A subnet's broadcast address cannot be told from the address alone.
  CHECK(NameOf("198.18.255.255") == "unicast");
}

TEST_CASE("multicast and link-local multicast of both families") {
  CHECK(NameOf("224.0.0.1") == "link-local multicast");
  CHECK(NameOf("224.0.0.255") == "link-local multicast");
  CHECK(NameOf("224.0.1.0") == "multicast");
  CHECK(NameOf("239.255.255.255") == "multicast");
  CHECK(NameOf("ff02::1") == "link-local multicast");
  CHECK(NameOf("ff12::1:2") == "link-local multicast");
  CHECK(NameOf("ff05::2") == "multicast");
  CHECK(NameOf("ff0e::1") == "multicast");
}

TEST_CASE("IPv4-mapped IPv6 addresses are not unicast sources") {
  CHECK(NameOf("::ffff:198.18.0.1") == "IPv4-mapped");
  CHECK(NameOf("::ffff:0.0.0.0") == "IPv4-mapped");
}
