// The nftables backend: the exact batch texts, and (as root) the real
// thing in a private network namespace.
#include <nftables/libnftables.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "knockd/helper/nftables_firewall.h"
#include "knockd/private_netns.h"

namespace {

constexpr char kTable[] = "knocktest";
constexpr unsigned kChildTimeoutSeconds = 60;

knock::IpAddress Address(const std::string& text) {
  knock::IpAddress address;
  std::string err;
  REQUIRE(knock::IpAddress::Parse(text, &address, &err));
  return address;
}

knock::FirewallLayout BothLayout() {
  knock::FirewallLayout layout;
  layout.protected_ports = {{knock::Transport::kTcp, 22},
                            {knock::Transport::kUdp, 53},
                            {knock::Transport::kTcp, 22}};
  layout.knock_range = {16384, 32767};
  layout.knock_protocol = knock::KnockProtocol::kBoth;
  return layout;
}

knock::Grant SshGrant(const std::string& source, int64_t timeout_ms) {
  knock::Grant grant;
  grant.source = Address(source);
  grant.ports = {{knock::Transport::kTcp, 22}};
  grant.timeout_ms = timeout_ms;
  grant.client = "alice";
  grant.service = "ssh";
  return grant;
}

// `list table inet knocktest` as JSON, through libnftables.
bool ListTable(nlohmann::json* out, std::string* err) {
  nft_ctx* ctx = nft_ctx_new(NFT_CTX_DEFAULT);
  nft_ctx_buffer_output(ctx);
  nft_ctx_buffer_error(ctx);
  nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_JSON);
  const std::string command = std::string("list table inet ") + kTable;
  const bool ok = nft_run_cmd_from_buffer(ctx, command.c_str()) == 0;
  if (ok) {
    *out = nlohmann::json::parse(nft_ctx_get_output_buffer(ctx));
  } else {
    *err = nft_ctx_get_error_buffer(ctx);
  }
  nft_ctx_free(ctx);
  return ok;
}

int CountRules(const nlohmann::json& listing) {
  int rules = 0;
  for (const auto& object : listing["nftables"]) {
    rules += object.contains("rule") ? 1 : 0;
  }
  return rules;
}

// The timeout in seconds of `source . tcp . 22` in `set`, or -1.
int64_t ElementTimeout(const nlohmann::json& listing, const std::string& set,
                       const std::string& source) {
  for (const auto& object : listing["nftables"]) {
    if (!object.contains("set") || object["set"]["name"] != set) continue;
    for (const auto& elem : object["set"].value("elem", nlohmann::json())) {
      const auto& e = elem["elem"];
      if (e["val"]["concat"] == nlohmann::json{source, "tcp", 22}) {
        return e.value("timeout", int64_t{-1});
      }
    }
  }
  return -1;
}

std::string Check(bool ok, const std::string& what) { return ok ? "" : what; }

std::string LiveScenario() {
  knock::NftablesFirewall firewall(kTable);
  std::string err;
  nlohmann::json listing;
  if (!firewall.Setup(BothLayout(), &err)) return "setup: " + err;
  if (!firewall.Open(SshGrant("198.18.0.7", 30000), &err))
    return "open: " + err;
  if (!firewall.Open(SshGrant("2001:db8::7", 30000), &err))
    return "open6: " + err;
  if (!ListTable(&listing, &err)) return "list: " + err;
  const int rules = CountRules(listing);
  std::string failed =
      Check(rules == 8, "rules after setup: " + std::to_string(rules)) +
      Check(ElementTimeout(listing, "allowed4", "198.18.0.7") == 30,
            "no v4 element with timeout 30s: " + listing.dump()) +
      Check(ElementTimeout(listing, "allowed6", "2001:db8::7") == 30,
            "no v6 element with timeout 30s");
  if (!failed.empty()) return failed;

  if (!firewall.Setup(BothLayout(), &err)) return "setup again: " + err;
  if (!firewall.Open(SshGrant("198.18.0.7", 120000), &err)) {
    return "refresh: " + err;
  }
  if (!ListTable(&listing, &err)) return "list again: " + err;
  failed = Check(CountRules(listing) == 8, "rules doubled: " + listing.dump()) +
           Check(ElementTimeout(listing, "allowed4", "198.18.0.7") == 120,
                 "refresh did not extend to 120s") +
           Check(ElementTimeout(listing, "allowed6", "2001:db8::7") == 30,
                 "second setup lost the v6 grant");
  if (!failed.empty()) return failed;

  if (!firewall.Flush(&err)) return "flush: " + err;
  if (ListTable(&listing, &err)) return "table still there after flush";
  if (!firewall.Flush(&err)) return "flush of no table: " + err;
  return "";
}

// The chains of the table, by name.
std::vector<std::string> ChainNames(const nlohmann::json& listing) {
  std::vector<std::string> names;
  for (const auto& object : listing["nftables"]) {
    if (object.contains("chain")) names.push_back(object["chain"]["name"]);
  }
  return names;
}

// A table as earlier versions made it (chain input, hook input) with a
// live grant is set up anew: the input chain goes, the grant stays.
std::string UpgradeScenario() {
  nft_ctx* ctx = nft_ctx_new(NFT_CTX_DEFAULT);
  nft_ctx_buffer_error(ctx);
  const std::string old_table =
      std::string("add table inet ") + kTable + "\n" + "add set inet " +
      kTable +
      " allowed4 { type ipv4_addr . inet_proto . inet_service; flags "
      "timeout; }\n" +
      "add element inet " + kTable +
      " allowed4 { 198.18.0.7 . tcp . 22 timeout 60s }\n" + "add chain inet " +
      kTable +
      " input { type filter hook input priority filter - 10; policy "
      "accept; }\n" +
      "add rule inet " + kTable + " input tcp dport 22 drop\n";
  const int rc = nft_run_cmd_from_buffer(ctx, old_table.c_str());
  std::string err = rc == 0 ? "" : nft_ctx_get_error_buffer(ctx);
  nft_ctx_free(ctx);
  if (!err.empty()) return "old table: " + err;
  knock::NftablesFirewall firewall(kTable);
  if (!firewall.Setup(BothLayout(), &err)) return "setup: " + err;
  nlohmann::json listing;
  if (!ListTable(&listing, &err)) return "list: " + err;
  return Check(ChainNames(listing) == std::vector<std::string>{"prerouting"},
               "chains: " + listing.dump()) +
         Check(ElementTimeout(listing, "allowed4", "198.18.0.7") > 0,
               "the upgrade lost the grant") +
         Check(CountRules(listing) == 8, "rules: " + listing.dump());
}

std::string OpenWithoutSetup() {
  knock::NftablesFirewall firewall(kTable);
  std::string err;
  if (firewall.Open(SshGrant("198.18.0.7", 30000), &err)) {
    return "open succeeded without a table";
  }
  return err;
}

int64_t NowNanos() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return int64_t{now.tv_sec} * 1000000000 + now.tv_nsec;
}

// Reports "median_us p90_us" of one grant each, as a failure text so that
// it crosses the pipe; the caller parses it.
std::string MeasureGrants() {
  constexpr int kGrants = 200;
  constexpr uint16_t kBusyElements = 10000;
  knock::NftablesFirewall firewall(kTable);
  std::string err;
  if (!firewall.Setup(BothLayout(), &err)) return "setup: " + err;
  // A busy set, so that a cost growing with its size would show.
  knock::Grant busy = SshGrant("198.19.0.1", 600000);
  for (uint16_t port = 1; port <= kBusyElements; ++port) {
    busy.ports.push_back({knock::Transport::kTcp, port});
  }
  if (!firewall.Open(busy, &err)) return "busy: " + err;
  std::vector<int64_t> micros;
  for (int i = 0; i < kGrants; ++i) {
    // Half new sources, half refreshes of a live one.
    const std::string source = "198.18." + std::to_string(i / 2 / 250) + "." +
                               std::to_string(i / 2 % 250 + 1);
    const knock::Grant grant = SshGrant(source, 60000);
    const int64_t start = NowNanos();
    if (!firewall.Open(grant, &err)) return "open: " + err;
    micros.push_back((NowNanos() - start) / 1000);
  }
  std::sort(micros.begin(), micros.end());
  return "median_us=" + std::to_string(micros[kGrants / 2]) +
         " p90_us=" + std::to_string(micros[kGrants * 9 / 10]) +
         " max_us=" + std::to_string(micros.back());
}

}  // namespace

TEST_CASE("the setup batch for tcp and udp knocks, v4 and v6", "[nftables]") {
  CHECK(knock::NftablesSetupBatch("knockd", BothLayout()) ==
        "add table inet knockd\n"
        "add chain inet knockd input\n"
        "flush chain inet knockd input\n"
        "delete chain inet knockd input\n"
        "add set inet knockd allowed4 { type ipv4_addr . inet_proto . "
        "inet_service; flags timeout; }\n"
        "add set inet knockd allowed6 { type ipv6_addr . inet_proto . "
        "inet_service; flags timeout; }\n"
        "add set inet knockd protected { type inet_proto . inet_service; }\n"
        "add chain inet knockd prerouting { type filter hook prerouting "
        "priority dstnat - 10; policy accept; }\n"
        "flush chain inet knockd prerouting\n"
        "flush set inet knockd protected\n"
        "add element inet knockd protected { tcp . 22, udp . 53 }\n"
        "add rule inet knockd prerouting iif lo accept\n"
        "add rule inet knockd prerouting ct state established,related "
        "accept\n"
        "add rule inet knockd prerouting fib daddr type != local accept\n"
        "add rule inet knockd prerouting meta l4proto . th dport @protected "
        "ip saddr . meta l4proto . th dport @allowed4 accept\n"
        "add rule inet knockd prerouting meta l4proto . th dport @protected "
        "ip6 saddr . meta l4proto . th dport @allowed6 accept\n"
        "add rule inet knockd prerouting meta l4proto . th dport @protected "
        "drop\n"
        "add rule inet knockd prerouting tcp dport 16384-32767 drop\n"
        "add rule inet knockd prerouting udp dport 16384-32767 drop\n");
}

TEST_CASE("the knock range is silent for both transports, whatever knocks",
          "[nftables]") {
  knock::FirewallLayout layout = BothLayout();
  for (auto protocol :
       {knock::KnockProtocol::kTcp, knock::KnockProtocol::kUdp}) {
    layout.knock_protocol = protocol;
    const std::string batch = knock::NftablesSetupBatch("knockd", layout);
    CHECK(batch.find("tcp dport 16384-32767 drop\n") != std::string::npos);
    CHECK(batch.find("udp dport 16384-32767 drop\n") != std::string::npos);
  }
}

TEST_CASE("no protected ports means no protected elements", "[nftables]") {
  knock::FirewallLayout layout = BothLayout();
  layout.protected_ports.clear();
  const std::string batch = knock::NftablesSetupBatch("knockd", layout);
  // "{ }" is a syntax error in nft: the element line must be left out.
  CHECK(batch.find("add element") == std::string::npos);
  CHECK(batch.find("flush set inet knockd protected\n") != std::string::npos);
}

TEST_CASE("the grant batch re-adds each element with its timeout",
          "[nftables]") {
  knock::Grant grant = SshGrant("198.18.0.7", 30000);
  grant.ports.push_back({knock::Transport::kUdp, 53});
  grant.ports.push_back({knock::Transport::kTcp, 22});
  CHECK(knock::NftablesGrantBatch("knockd", grant) ==
        "add element inet knockd allowed4 { 198.18.0.7 . tcp . 22, "
        "198.18.0.7 . udp . 53 }\n"
        "delete element inet knockd allowed4 { 198.18.0.7 . tcp . 22, "
        "198.18.0.7 . udp . 53 }\n"
        "add element inet knockd allowed4 { 198.18.0.7 . tcp . 22 timeout "
        "30000ms, 198.18.0.7 . udp . 53 timeout 30000ms }\n");
  CHECK(knock::NftablesGrantBatch("knockd", SshGrant("2001:db8::7", 1500)) ==
        "add element inet knockd allowed6 { 2001:db8::7 . tcp . 22 }\n"
        "delete element inet knockd allowed6 { 2001:db8::7 . tcp . 22 }\n"
        "add element inet knockd allowed6 { 2001:db8::7 . tcp . 22 timeout "
        "1500ms }\n");
  grant.ports.clear();
  CHECK(knock::NftablesGrantBatch("knockd", grant).empty());
}

TEST_CASE("flush deletes the table even when it is missing", "[nftables]") {
  CHECK(knock::NftablesFlushBatch("knockd") ==
        "add table inet knockd\ndelete table inet knockd\n");
}

TEST_CASE("table names that could change the batch are refused", "[nftables]") {
  std::string err;
  CHECK(knock::CheckNftablesTableName("knockd_2", &err));
  CHECK_FALSE(knock::CheckNftablesTableName("knockd; flush ruleset", &err));
  CHECK(err ==
        "not an nftables table name \"knockd; flush ruleset\" (use letters, "
        "digits and _, starting with a letter)");
  CHECK_FALSE(knock::CheckNftablesTableName("", &err));
  CHECK_FALSE(knock::CheckNftablesTableName("2knockd", &err));
  knock::NftablesFirewall firewall("bad name");
  CHECK_FALSE(firewall.Setup(BothLayout(), &err));
  CHECK(err ==
        "not an nftables table name \"bad name\" (use letters, digits and _, "
        "starting with a letter)");
}

TEST_CASE("setup, grant, re-setup, refresh and flush in a namespace",
          "[nftables][root]") {
  if (geteuid() != 0) {
    WARN("skipped: needs root for a network namespace");
    return;
  }
  CHECK(InPrivateNetns(LiveScenario, kChildTimeoutSeconds) == "");
}

TEST_CASE("a table of the input-hook versions is upgraded, grants kept",
          "[nftables][root]") {
  if (geteuid() != 0) {
    WARN("skipped: needs root for a network namespace");
    return;
  }
  CHECK(InPrivateNetns(UpgradeScenario, kChildTimeoutSeconds) == "");
}

TEST_CASE("a grant without the table fails with nft's message",
          "[nftables][root]") {
  if (geteuid() != 0) {
    WARN("skipped: needs root for a network namespace");
    return;
  }
  CHECK(InPrivateNetns(OpenWithoutSetup, kChildTimeoutSeconds) ==
        "nftables: Error: No such file or directory "
        "(in \"add element inet knocktest allowed4 { 198.18.0.7 . tcp . 22 "
        "}\")");
}

TEST_CASE("latency of one grant", "[.][bench][nftables]") {
  if (geteuid() != 0) {
    WARN("skipped: needs root for a network namespace");
    return;
  }
  const std::string result =
      InPrivateNetns(MeasureGrants, kChildTimeoutSeconds);
  WARN(result);
  CHECK(result.rfind("median_us=", 0) == 0);
}
