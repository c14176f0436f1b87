// The reaction to a changed ruleset, against scripted notifications and a
// recording firewall: the drops come back first, then every live grant
// with the time it has left; the daemon's own changes are ignored.
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "knockd/helper/ruleset_guard.h"

namespace {

constexpr uint32_t kOwnPid = 100;
constexpr uint32_t kNftPid = 4242;
constexpr int64_t kT0Ms = 1764000000000;

/// Notifications a test scripts, one batch per read.
class ScriptedSource : public knock::RulesetEventSource {
 public:
  int fd() const override { return -1; }
  bool Read(std::vector<knock::NftablesEvent>* events, bool* overran,
            std::string* err) override {
    if (!error.empty()) {
      *err = error;
      return false;
    }
    events->insert(events->end(), waiting.begin(), waiting.end());
    waiting.clear();
    *overran = overrun;
    overrun = false;
    // What a restore's own notifications do to the socket, seen by the
    // read that follows it.
    overrun = overrun_next;
    overrun_next = false;
    return true;
  }
  void Flush(uint32_t pid, const std::string& table = "knockd",
             const std::string& process = "nft") {
    knock::NftablesEvent deleted;
    deleted.message = NFT_MSG_DELTABLE;
    deleted.family = NFPROTO_INET;
    deleted.table = table;
    knock::NftablesEvent commit;
    commit.message = NFT_MSG_NEWGEN;
    commit.is_generation = true;
    commit.has_pid = true;
    commit.pid = pid;
    commit.process = process;
    waiting.push_back(deleted);
    waiting.push_back(commit);
  }

  std::vector<knock::NftablesEvent> waiting;
  bool overrun = false;
  bool overrun_next = false;
  std::string error;
};

/// Records what it was asked, in order; fails on request.
class RecordingFirewall : public knock::Firewall {
 public:
  bool Setup(const knock::FirewallLayout& layout, std::string* err) override {
    calls.push_back("setup " + std::to_string(layout.protected_ports.size()) +
                    " ports");
    if (!setup_error.empty()) *err = setup_error;
    return setup_error.empty();
  }
  bool Open(const knock::Grant& grant, std::string* err) override {
    calls.push_back("open " + grant.source.ToString() + " " + grant.service +
                    " for " + std::to_string(grant.timeout_ms) + " ms");
    if (grant.source.ToString() == refused_source) {
      *err = "nftables: Error: no room";
      return false;
    }
    return true;
  }
  bool Flush(std::string*) override { return true; }
  const char* Name() const override { return "recording"; }

  std::vector<std::string> calls;
  std::string setup_error;
  std::string refused_source;
};

knock::Grant MakeGrant(const std::string& source, const std::string& service,
                       int64_t timeout_ms) {
  knock::Grant grant;
  std::string err;
  REQUIRE(knock::IpAddress::Parse(source, &grant.source, &err));
  grant.ports = {{knock::Transport::kTcp, 22}};
  grant.timeout_ms = timeout_ms;
  grant.client = "alice";
  grant.service = service;
  return grant;
}

knock::FirewallLayout Layout() {
  knock::FirewallLayout layout;
  layout.protected_ports = {{knock::Transport::kTcp, 22}};
  layout.knock_range = {16384, 32767};
  return layout;
}

}  // namespace

TEST_CASE("a flush by someone else restores the drops, then live grants",
          "[ruleset_guard]") {
  ScriptedSource source;
  RecordingFirewall firewall;
  knock::RulesetGuard guard(&source, "knockd", kOwnPid);
  guard.grants().Add(MakeGrant("198.18.0.2", "ssh", 4000), kT0Ms);
  guard.grants().Add(MakeGrant("2001:db8::2", "ssh", 10000), kT0Ms);
  guard.grants().Add(MakeGrant("198.18.0.3", "ssh", 500), kT0Ms);
  source.Flush(kNftPid);
  knock::Restoration done;
  std::string err;
  REQUIRE(guard.OnReadable(&firewall, Layout(), kT0Ms + 1000, &done, &err) ==
          knock::RulesetGuard::Outcome::kRestored);
  CHECK(firewall.calls ==
        std::vector<std::string>{"setup 1 ports",
                                 "open 198.18.0.2 ssh for 3000 ms",
                                 "open 2001:db8::2 ssh for 9000 ms"});
  CHECK(done.grants == 2);
  CHECK(done.grant_errors.empty());
  CHECK(done.change.Describe() == "process nft (pid 4242)");
}

TEST_CASE("the daemon's own changes restore nothing", "[ruleset_guard]") {
  ScriptedSource source;
  RecordingFirewall firewall;
  knock::RulesetGuard guard(&source, "knockd", kOwnPid);
  source.Flush(kOwnPid);
  knock::Restoration done;
  std::string err;
  CHECK(guard.OnReadable(&firewall, Layout(), kT0Ms, &done, &err) ==
        knock::RulesetGuard::Outcome::kNothing);
  CHECK(firewall.calls.empty());
  // Control: someone else's.
  source.Flush(kNftPid);
  CHECK(guard.OnReadable(&firewall, Layout(), kT0Ms, &done, &err) ==
        knock::RulesetGuard::Outcome::kRestored);
  CHECK(firewall.calls == std::vector<std::string>{"setup 1 ports"});
}

TEST_CASE("in a container the daemon's own setup names its outer pid",
          "[ruleset_guard]") {
  constexpr uint32_t kOuterPid = 28185;
  ScriptedSource source;
  RecordingFirewall firewall;
  knock::RulesetGuard guard(&source, "knockd", kOwnPid);
  knock::Restoration done;
  std::string err;
  // The setup's own notifications wait on the socket when it returns.
  source.Flush(kOuterPid, "knockd", "knockd");
  REQUIRE(guard.AdoptOwnSetup("knockd", &err));
  // Twenty grants in a second: none restores, none counts towards a stop.
  for (int grant = 0; grant < 20; ++grant) {
    source.Flush(kOuterPid, "knockd", "knockd");
    REQUIRE(guard.OnReadable(&firewall, Layout(), kT0Ms, &done, &err) ==
            knock::RulesetGuard::Outcome::kNothing);
  }
  CHECK(firewall.calls.empty());
  // Control: the same commits without adoption restore, then stop it.
  knock::RulesetGuard unadopted(&source, "knockd", kOwnPid);
  knock::RulesetGuard::Outcome last = knock::RulesetGuard::Outcome::kNothing;
  for (int grant = 0;
       grant < 20 && last != knock::RulesetGuard::Outcome::kFailed; ++grant) {
    source.Flush(kOuterPid, "knockd", "knockd");
    last = unadopted.OnReadable(&firewall, Layout(), kT0Ms, &done, &err);
  }
  CHECK(last == knock::RulesetGuard::Outcome::kFailed);
  CHECK(err ==
        "the firewall table was changed 11 times in 10 s, last by process "
        "knockd (pid 28185); another program keeps rewriting it");
}

TEST_CASE("lost notifications restore too", "[ruleset_guard]") {
  ScriptedSource source;
  RecordingFirewall firewall;
  knock::RulesetGuard guard(&source, "knockd", kOwnPid);
  source.overrun = true;
  knock::Restoration done;
  std::string err;
  CHECK(guard.OnReadable(&firewall, Layout(), kT0Ms, &done, &err) ==
        knock::RulesetGuard::Outcome::kRestored);
  CHECK(done.change.Describe() == "unknown (notifications were lost)");
}

TEST_CASE("a restore that overruns the socket itself does not restore again",
          "[ruleset_guard]") {
  ScriptedSource source;
  RecordingFirewall firewall;
  knock::RulesetGuard guard(&source, "knockd", kOwnPid);
  source.Flush(kNftPid);
  source.overrun_next = true;
  knock::Restoration done;
  std::string err;
  CHECK(guard.OnReadable(&firewall, Layout(), kT0Ms, &done, &err) ==
        knock::RulesetGuard::Outcome::kRestored);
  CHECK(guard.OnReadable(&firewall, Layout(), kT0Ms, &done, &err) ==
        knock::RulesetGuard::Outcome::kNothing);
  CHECK(firewall.calls == std::vector<std::string>{"setup 1 ports"});
  // Control: an overrun between restores (a burst of grants) restores.
  source.overrun = true;
  CHECK(guard.OnReadable(&firewall, Layout(), kT0Ms, &done, &err) ==
        knock::RulesetGuard::Outcome::kRestored);
}

TEST_CASE("restores after lost notifications never stop the daemon",
          "[ruleset_guard]") {
  ScriptedSource source;
  RecordingFirewall firewall;
  knock::RulesetGuard guard(&source, "knockd", kOwnPid);
  knock::Restoration done;
  std::string err;
  for (int i = 0; i < 30; ++i) {
    source.overrun = true;
    CHECK(guard.OnReadable(&firewall, Layout(), kT0Ms + i, &done, &err) ==
          knock::RulesetGuard::Outcome::kRestored);
  }
}

TEST_CASE("a table that cannot be set up again fails", "[ruleset_guard]") {
  ScriptedSource source;
  RecordingFirewall firewall;
  firewall.setup_error = "nftables: Error: Operation not permitted";
  knock::RulesetGuard guard(&source, "knockd", kOwnPid);
  guard.grants().Add(MakeGrant("198.18.0.2", "ssh", 4000), kT0Ms);
  source.Flush(kNftPid);
  knock::Restoration done;
  std::string err;
  CHECK(guard.OnReadable(&firewall, Layout(), kT0Ms, &done, &err) ==
        knock::RulesetGuard::Outcome::kFailed);
  CHECK(err == "nftables: Error: Operation not permitted");
  // No hole is opened without the drops.
  CHECK(firewall.calls == std::vector<std::string>{"setup 1 ports"});
}

TEST_CASE("a grant the firewall refuses is reported, the rest restored",
          "[ruleset_guard]") {
  ScriptedSource source;
  RecordingFirewall firewall;
  firewall.refused_source = "198.18.0.2";
  knock::RulesetGuard guard(&source, "knockd", kOwnPid);
  guard.grants().Add(MakeGrant("198.18.0.2", "ssh", 4000), kT0Ms);
  guard.grants().Add(MakeGrant("198.18.0.4", "ssh", 4000), kT0Ms);
  source.Flush(kNftPid);
  knock::Restoration done;
  std::string err;
  CHECK(guard.OnReadable(&firewall, Layout(), kT0Ms, &done, &err) ==
        knock::RulesetGuard::Outcome::kRestored);
  CHECK(done.grants == 1);
  CHECK(done.grant_errors ==
        std::vector<std::string>{"198.18.0.2 (alice, ssh): nftables: Error: "
                                 "no room"});
}

TEST_CASE("a table rewritten again and again stops the daemon",
          "[ruleset_guard]") {
  ScriptedSource source;
  RecordingFirewall firewall;
  knock::RulesetGuard guard(&source, "knockd", kOwnPid);
  knock::Restoration done;
  std::string err;
  for (int i = 0; i < 10; ++i) {
    source.Flush(kNftPid);
    REQUIRE(guard.OnReadable(&firewall, Layout(), kT0Ms + i * 100, &done,
                             &err) == knock::RulesetGuard::Outcome::kRestored);
  }
  source.Flush(kNftPid);
  CHECK(guard.OnReadable(&firewall, Layout(), kT0Ms + 1000, &done, &err) ==
        knock::RulesetGuard::Outcome::kFailed);
  CHECK(err ==
        "the firewall table was changed 11 times in 10 s, last by process "
        "nft (pid 4242); another program keeps rewriting it");
  // Control: the same number spread out is fine.
  knock::RulesetGuard patient(&source, "knockd", kOwnPid);
  for (int i = 0; i < 11; ++i) {
    source.Flush(kNftPid);
    CHECK(patient.OnReadable(&firewall, Layout(), kT0Ms + i * 1001, &done,
                             &err) == knock::RulesetGuard::Outcome::kRestored);
  }
}

TEST_CASE("a socket error fails", "[ruleset_guard]") {
  ScriptedSource source;
  RecordingFirewall firewall;
  source.error = "nftables monitor: recv: Bad file descriptor";
  knock::RulesetGuard guard(&source, "knockd", kOwnPid);
  knock::Restoration done;
  std::string err;
  CHECK(guard.OnReadable(&firewall, Layout(), kT0Ms, &done, &err) ==
        knock::RulesetGuard::Outcome::kFailed);
  CHECK(err == "nftables monitor: recv: Bad file descriptor");
}

TEST_CASE("after a reload to another table its grants are forgotten",
          "[ruleset_guard]") {
  ScriptedSource source;
  RecordingFirewall firewall;
  knock::RulesetGuard guard(&source, "knockd", kOwnPid);
  guard.grants().Add(MakeGrant("198.18.0.2", "ssh", 4000), kT0Ms);
  guard.Retarget("knockd2");
  source.Flush(kNftPid, "knockd");
  knock::Restoration done;
  std::string err;
  CHECK(guard.OnReadable(&firewall, Layout(), kT0Ms, &done, &err) ==
        knock::RulesetGuard::Outcome::kNothing);
  source.Flush(kNftPid, "knockd2");
  CHECK(guard.OnReadable(&firewall, Layout(), kT0Ms, &done, &err) ==
        knock::RulesetGuard::Outcome::kRestored);
  CHECK(done.grants == 0);
}
