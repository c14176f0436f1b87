// What each audit record holds, and the expiry records that follow grants.
#include <catch2/catch.hpp>

#include "knockd/audit/audit_grant_tracker.h"
#include "knockd/audit/audit_record.h"
#include "knockd/audit_fixture.h"

using audit_test::kSecondUs;
using audit_test::kT0Us;
using audit_test::Match;
using knock::Verdict;

TEST_CASE(
    "A grant names client, service, source, ports, window, slot, expiry") {
  const knock::AuditRecord record =
      knock::AuditMatch(Match(Verdict::kGranted, "alice", "2001:db8::7", kT0Us),
                        audit_test::SshConfig());
  CHECK(record.event == "grant");
  CHECK(record.time_us == kT0Us);
  CHECK(record.fields.dump() ==
        "{\"client\":\"alice\",\"service\":\"ssh\",\"source\":\"2001:db8::7\","
        "\"window\":59868835,\"slot\":1,\"ports\":[\"tcp/22\"],\"expires\":"
        "\"2026-11-29T18:58:09.123456Z\"}");
}

TEST_CASE("A replay names the first source; a firewall failure shows") {
  const knock::ServerConfig config = audit_test::SshConfig();
  CHECK(knock::AuditMatch(Match(Verdict::kReplay, "alice", "198.18.0.9", kT0Us),
                          config)
            .fields.dump() ==
        "{\"client\":\"alice\",\"service\":\"ssh\",\"source\":\"198.18.0.9\","
        "\"first_source\":\"198.18.0.2\",\"window\":59868835,\"slot\":1}");
  knock::KnockOutcome refused =
      Match(Verdict::kRefreshed, "alice", "198.18.0.2", kT0Us);
  refused.enforced = false;
  const knock::AuditRecord record = knock::AuditMatch(refused, config);
  CHECK(record.event == "refresh");
  CHECK(record.fields["enforced"] == false);
  CHECK(knock::AuditMatch(Match(Verdict::kExpiredWindow, "a", "198.18.0.9", 0),
                          config)
            .event == "expired_window");
}

TEST_CASE("A bound grant says so; a policy refusal names its reason") {
  const knock::ServerConfig config = audit_test::SshConfig();
  knock::KnockOutcome bound =
      Match(Verdict::kGranted, "alice", "198.18.0.2", kT0Us);
  bound.match.owner.bound = true;
  CHECK(knock::AuditMatch(bound, config).fields["bound"] == true);
  // Control: an unbound grant has neither field.
  const knock::AuditRecord plain = knock::AuditMatch(
      Match(Verdict::kGranted, "alice", "198.18.0.2", kT0Us), config);
  CHECK_FALSE(plain.fields.contains("bound"));
  CHECK_FALSE(plain.fields.contains("refused"));
  bound.enforced = false;
  bound.refused = "bound_mismatch";
  const knock::AuditRecord refused = knock::AuditMatch(bound, config);
  CHECK(refused.fields["enforced"] == false);
  CHECK(refused.fields["refused"] == "bound_mismatch");
}

TEST_CASE("Daemon records: start, stop, reload, flush") {
  knock::ServerConfig config = audit_test::SshConfig();
  CHECK(knock::AuditStart(kT0Us, config, "none").fields.dump() ==
        "{\"config\":\"/etc/knockd/knockd.toml\",\"clients\":1,\"knock_ports\":"
        "\"16384-32767\",\"interfaces\":[\"any\"],\"firewall\":\"none\"}");
  CHECK(knock::AuditStop(kT0Us, "SIGTERM").fields.dump() ==
        "{\"reason\":\"SIGTERM\"}");
  CHECK(knock::AuditReload(kT0Us, "/k.toml", true, "", 3).fields.dump() ==
        "{\"config\":\"/k.toml\",\"result\":\"accepted\",\"clients\":3}");
  CHECK(knock::AuditReload(kT0Us, "/k.toml", false, "bad", 3).fields.dump() ==
        "{\"config\":\"/k.toml\",\"result\":\"refused\",\"reason\":\"bad\"}");
  CHECK(knock::AuditFlush(kT0Us, "knockd", "knockd flush").fields.dump() ==
        "{\"table\":\"knockd\",\"by\":\"knockd flush\"}");
}

TEST_CASE("Daemon records: a restored firewall table") {
  const knock::AuditRecord record =
      knock::AuditRestore(kT0Us, "knockd", "process nft (pid 42)", 2);
  CHECK(record.event == "restore");
  CHECK(record.fields.dump() ==
        "{\"table\":\"knockd\",\"by\":\"process nft (pid 42)\","
        "\"grants\":2}");
}

TEST_CASE("The tracker turns each grant's deadline into one expiry record") {
  knock::AuditGrantTracker tracker;
  tracker.Track(Match(Verdict::kGranted, "alice", "198.18.0.2", kT0Us));
  tracker.Track(
      Match(Verdict::kGranted, "bob", "198.18.0.3", kT0Us + kSecondUs));
  tracker.Track(Match(Verdict::kReplay, "bob", "198.18.0.4", kT0Us));
  // A refresh moves alice's deadline 10 s on.
  tracker.Track(Match(Verdict::kRefreshed, "alice", "198.18.0.2",
                      kT0Us + 10 * kSecondUs));
  CHECK(tracker.size() == 2);
  CHECK(tracker.TakeExpired(kT0Us + 30 * kSecondUs).empty());
  std::vector<knock::AuditRecord> expired =
      tracker.TakeExpired(kT0Us + 31 * kSecondUs);
  REQUIRE(expired.size() == 1);
  CHECK(expired[0].event == "expiry");
  CHECK(expired[0].time_us == kT0Us + 31 * kSecondUs);
  CHECK(expired[0].fields.dump() ==
        "{\"client\":\"bob\",\"service\":\"ssh\",\"source\":\"198.18.0.3\"}");
  expired = tracker.TakeExpired(kT0Us + 60 * kSecondUs);
  REQUIRE(expired.size() == 1);
  CHECK(expired[0].time_us == kT0Us + 40 * kSecondUs);
  CHECK(tracker.size() == 0);

  knock::KnockOutcome unenforced =
      Match(Verdict::kGranted, "carol", "198.18.0.5", kT0Us);
  unenforced.enforced = false;
  tracker.Track(unenforced);
  CHECK(tracker.size() == 0);
}
