// Reading back the grants a kept table holds (nft's JSON listing), so that
// a restart's helper can restore them after a flush.
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "knockd/helper/nftables_firewall.h"
#include "knockd/helper/nftables_grant_listing.h"

namespace {

// As nft 1.0.6 prints `nft -j list set inet k allowed4`.
constexpr char kListing[] =
    R"({"nftables": [{"metainfo": {"version": "1.0.6", "release_name": )"
    R"("Lester Gooch #5", "json_schema_version": 1}}, {"set": {"family": )"
    R"("inet", "name": "allowed4", "table": "k", "type": ["ipv4_addr", )"
    R"("inet_proto", "inet_service"], "handle": 1, "flags": ["timeout"], )"
    R"("elem": [{"elem": {"val": {"concat": ["198.18.0.7", "tcp", 22]}, )"
    R"("timeout": 60, "expires": 59}}, {"elem": {"val": {"concat": )"
    R"(["198.18.0.8", "udp", 53]}, "timeout": 10, "expires": 0}}, )"
    R"({"concat": ["198.18.0.9", "tcp", 22]}]}}]})";

}  // namespace

TEST_CASE("kept elements become grants for the time they have left",
          "[nftables_grant_listing]") {
  std::vector<knock::Grant> grants;
  std::string err;
  REQUIRE(knock::ParseNftablesGrantListing(kListing, &grants, &err));
  // The expired one and the bare one (no timeout) are not grants.
  REQUIRE(grants.size() == 1);
  CHECK(grants[0].source.ToString() == "198.18.0.7");
  REQUIRE(grants[0].ports.size() == 1);
  CHECK(grants[0].ports[0].ToString() == "tcp/22");
  CHECK(grants[0].timeout_ms == 59000);
  CHECK(grants[0].client == "earlier run");
  CHECK(grants[0].service == "tcp/22");
}

TEST_CASE("a listing that is not nft's fails", "[nftables_grant_listing]") {
  std::vector<knock::Grant> grants;
  std::string err;
  CHECK_FALSE(knock::ParseNftablesGrantListing("Error: oops", &grants, &err));
  CHECK(err == "nftables: not a JSON listing");
  CHECK_FALSE(knock::ParseNftablesGrantListing(
      R"({"nftables": [{"set": {"elem": [{"elem": {"val": {"concat": )"
      R"(["198.18.0.7", "sctp", 22]}, "expires": 5}}]}}]})",
      &grants, &err));
  CHECK(err ==
        "nftables: an allowed element is not address . proto . port "
        "({\"elem\":{\"expires\":5,\"val\":{\"concat\":[\"198.18.0.7\","
        "\"sctp\",22]}}})");
  CHECK(grants.empty());
}

TEST_CASE("the grants of a kept table are listed, none without a table",
          "[nftables_grant_listing][root]") {
  if (geteuid() != 0) {
    WARN("skipped: needs root for a network namespace");
    return;
  }
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    alarm(30);
    if (unshare(CLONE_NEWNET) != 0) _exit(2);
    std::vector<knock::Grant> grants;
    std::string err;
    if (!knock::ListNftablesGrants("knocktest", &grants, &err) ||
        !grants.empty())
      _exit(3);
    knock::NftablesFirewall firewall("knocktest");
    knock::FirewallLayout layout;
    layout.protected_ports = {{knock::Transport::kTcp, 22}};
    layout.knock_range = {16384, 32767};
    knock::Grant grant;
    if (!knock::IpAddress::Parse("2001:db8::7", &grant.source, &err)) _exit(4);
    grant.ports = {{knock::Transport::kTcp, 22}, {knock::Transport::kUdp, 53}};
    grant.timeout_ms = 30000;
    if (!firewall.Setup(layout, &err) || !firewall.Open(grant, &err)) _exit(5);
    if (!knock::ListNftablesGrants("knocktest", &grants, &err)) _exit(6);
    if (grants.size() != 2) _exit(7);
    for (const knock::Grant& listed : grants) {
      if (listed.source.ToString() != "2001:db8::7" ||
          listed.timeout_ms < 28000 || listed.timeout_ms > 30000)
        _exit(8);
    }
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
