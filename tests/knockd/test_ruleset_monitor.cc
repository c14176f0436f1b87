// The kernel's nftables notifications, as root in a private network
// namespace: a table added and deleted is seen with its committer.
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <nftables/libnftables.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "knockd/helper/nftables_firewall.h"
#include "knockd/helper/ruleset_monitor.h"
#include "knockd/private_netns.h"

namespace {

constexpr unsigned kChildTimeoutSeconds = 30;
constexpr int kWaitMs = 2000;

std::string RunNft(const char* command) {
  nft_ctx* ctx = nft_ctx_new(NFT_CTX_DEFAULT);
  nft_ctx_buffer_error(ctx);
  const int rc = nft_run_cmd_from_buffer(ctx, command);
  std::string err = rc == 0 ? "" : nft_ctx_get_error_buffer(ctx);
  nft_ctx_free(ctx);
  return err;
}

// Reads until a generation arrives or kWaitMs pass.
std::string ReadTransaction(knock::RulesetMonitor* monitor,
                            std::vector<knock::NftablesEvent>* events) {
  for (int waited = 0; waited < kWaitMs; waited += 100) {
    pollfd ready{monitor->fd(), POLLIN, 0};
    poll(&ready, 1, 100);
    bool overran = false;
    std::string err;
    if (!monitor->Read(events, &overran, &err)) return err;
    if (overran) return "overran";
    if (!events->empty() && events->back().is_generation) return "";
  }
  return "no generation within 2 s";
}

std::string Scenario() {
  knock::RulesetMonitor monitor;
  std::string err;
  if (!monitor.Open(&err)) return err;
  err = RunNft("add table inet knocktest\n");
  if (!err.empty()) return "nft: " + err;
  std::vector<knock::NftablesEvent> events;
  err = ReadTransaction(&monitor, &events);
  if (!err.empty()) return err;
  if (events.size() != 2) return "events: " + std::to_string(events.size());
  if (events[0].message != NFT_MSG_NEWTABLE || events[0].table != "knocktest" ||
      events[0].family != NFPROTO_INET)
    return "first event is not the new table";
  if (!events[1].has_pid || events[1].pid != static_cast<uint32_t>(getpid()))
    return "the committer is not this process: " +
           std::to_string(events[1].pid);
  events.clear();
  // Another process flushes the ruleset, as `systemctl restart nftables`.
  const pid_t other = fork();
  if (other == 0) _exit(RunNft("flush ruleset\n").empty() ? 0 : 1);
  int status = 0;
  waitpid(other, &status, 0);
  err = ReadTransaction(&monitor, &events);
  if (!err.empty()) return err;
  if (events.front().message != NFT_MSG_DELTABLE ||
      events.front().table != "knocktest")
    return "the flush did not name the table";
  if (events.back().pid != static_cast<uint32_t>(other))
    return "the flush's committer is not the other process";
  return "";
}

// A burst of grants between two reads (the helper handles every waiting
// grant before it reads the monitor) must fit in the socket's buffer:
// each overrun costs a restore.
std::string GrantBurst(bool small_buffer) {
  constexpr int kGrants = 2000;
  constexpr int kSmallBufferBytes = 64 * 1024;
  knock::RulesetMonitor monitor;
  std::string err;
  if (!monitor.Open(&err)) return err;
  if (small_buffer)
    setsockopt(monitor.fd(), SOL_SOCKET, SO_RCVBUF, &kSmallBufferBytes,
               sizeof kSmallBufferBytes);
  knock::NftablesFirewall firewall("knocktest");
  knock::FirewallLayout layout;
  layout.protected_ports = {{knock::Transport::kTcp, 22}};
  layout.knock_range = {16384, 32767};
  if (!firewall.Setup(layout, &err)) return "setup: " + err;
  for (int i = 0; i < kGrants; ++i) {
    knock::Grant grant;
    const std::string source =
        "198.18." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
    if (!knock::IpAddress::Parse(source, &grant.source, &err)) return err;
    grant.ports = {{knock::Transport::kTcp, 22}};
    grant.timeout_ms = 60000;
    if (!firewall.Open(grant, &err)) return "open: " + err;
  }
  // One read takes a bounded number of datagrams; the helper's next poll
  // takes the rest.
  std::vector<knock::NftablesEvent> events;
  bool overran = false;
  for (size_t before = SIZE_MAX; before != events.size();) {
    before = events.size();
    if (!monitor.Read(&events, &overran, &err)) return err;
  }
  if (overran) return "overran after " + std::to_string(kGrants) + " grants";
  size_t generations = 0;
  for (const knock::NftablesEvent& event : events)
    generations += event.is_generation ? 1 : 0;
  if (generations != kGrants + 1)
    return "generations: " + std::to_string(generations);
  return "";
}

std::string LargeBufferBurst() { return GrantBurst(false); }
std::string SmallBufferBurst() { return GrantBurst(true); }

}  // namespace

TEST_CASE("the kernel's notifications name the table and the committer",
          "[ruleset_monitor][root]") {
  if (geteuid() != 0) {
    WARN("skipped: needs root for a network namespace");
    return;
  }
  CHECK(InPrivateNetns(Scenario, kChildTimeoutSeconds) == "");
}

TEST_CASE("a burst of 2,000 grants does not overrun the monitor",
          "[ruleset_monitor][root]") {
  if (geteuid() != 0) {
    WARN("skipped: needs root for a network namespace");
    return;
  }
  CHECK(InPrivateNetns(LargeBufferBurst, kChildTimeoutSeconds) == "");
  // Control: with a 64 KiB buffer the same burst overruns.
  CHECK(InPrivateNetns(SmallBufferBurst, kChildTimeoutSeconds) ==
        "overran after 2000 grants");
}
