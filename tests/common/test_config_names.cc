// Names in configurations: services, clients and servers, nftables tables.
#include <catch2/catch.hpp>

#include "common/config_names.h"

TEST_CASE("Service names are 1-64 bytes of a-z 0-9 _ -") {
  CHECK(knock::IsServiceName("ssh"));
  CHECK(knock::IsServiceName("web_2-admin"));
  CHECK(knock::IsServiceName(std::string(64, 'a')));
  CHECK_FALSE(knock::IsServiceName(std::string(65, 'a')));
  CHECK_FALSE(knock::IsServiceName(""));
  CHECK_FALSE(knock::IsServiceName("SSH"));
  CHECK_FALSE(knock::IsServiceName("web.site"));
  CHECK_FALSE(knock::IsServiceName("a b"));
}

TEST_CASE("Peer names are 1-64 bytes of A-Z a-z 0-9 _ . -") {
  CHECK(knock::IsPeerName("alice-laptop"));
  CHECK(knock::IsPeerName("Bob.Phone_2"));
  CHECK(knock::IsPeerName(std::string(64, 'Z')));
  CHECK_FALSE(knock::IsPeerName(std::string(65, 'Z')));
  CHECK_FALSE(knock::IsPeerName(""));
  CHECK_FALSE(knock::IsPeerName("alice laptop"));
  CHECK_FALSE(knock::IsPeerName("alice/laptop"));
}

TEST_CASE("Firewall table names are 1-64 bytes of A-Z a-z 0-9 _") {
  CHECK(knock::IsFirewallTableName("knockd"));
  CHECK(knock::IsFirewallTableName("Knock_D2"));
  CHECK_FALSE(knock::IsFirewallTableName("knock-d"));
  CHECK_FALSE(knock::IsFirewallTableName(""));
}

TEST_CASE("No name starts with a dash, so none can become an option") {
  CHECK_FALSE(knock::IsServiceName("-ssh"));
  CHECK_FALSE(knock::IsServiceName("--help"));
  CHECK(knock::IsServiceName("ssh-"));
  CHECK_FALSE(knock::IsPeerName("-alice"));
  CHECK_FALSE(knock::IsPeerName("-"));
  CHECK(knock::IsPeerName("alice-"));
  CHECK(knock::IsPeerName("a-lice"));
}
