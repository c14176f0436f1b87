// Reading the audit log back: the summary and the filtered events, exact on
// a small log; times for --since and --until.
#include <catch2/catch.hpp>

#include "knockd/audit/audit_summary.h"
#include "knockd/audit_fixture.h"

namespace {

using audit_test::kSecondUs;
using audit_test::kT0Us;
using audit_test::Match;
using knock::Verdict;

std::vector<knock::AuditEvent> SmallLog() {
  const knock::ServerConfig config = audit_test::SshConfig();
  knock::IpAddress alice_source =
      Match(Verdict::kGranted, "alice", "198.18.0.2", 0).match.source;
  const std::vector<knock::AuditRecord> records = {
      knock::AuditStart(kT0Us, config, "nftables"),
      knock::AuditMatch(
          Match(Verdict::kGranted, "alice", "198.18.0.2", kT0Us + kSecondUs),
          config),
      knock::AuditMatch(
          Match(Verdict::kGranted, "bob", "2001:db8::5", kT0Us + 3 * kSecondUs),
          config),
      knock::AuditMatch(Match(Verdict::kRefreshed, "alice", "198.18.0.2",
                              kT0Us + 10 * kSecondUs),
                        config),
      knock::AuditMatch(Match(Verdict::kReplay, "alice", "198.18.0.9",
                              kT0Us + 11 * kSecondUs),
                        config),
      knock::AuditMatch(Match(Verdict::kExpiredWindow, "bob", "198.18.0.9",
                              kT0Us + 12 * kSecondUs),
                        config),
      knock::AuditMatch(
          Match(Verdict::kReplay, "bob", "198.18.0.9", kT0Us + 13 * kSecondUs),
          config),
      knock::AuditReload(kT0Us + 20 * kSecondUs, "/etc/knockd/knockd.toml",
                         false, "knockd.toml:3:1: unknown key \"x\"", 0),
      knock::AuditExpiry(kT0Us + 40 * kSecondUs, "alice", "ssh", alice_source),
  };
  const std::string log = audit_test::WriteLog(
      audit_test::TempDir(), records, audit_test::FixedKey(1),
      knock::AuditKeyId(audit_test::FixedKey(1)));
  std::vector<std::string> skipped;
  std::vector<knock::AuditEvent> events = knock::ReadAuditEvents(
      {{"audit.jsonl", audit_test::ReadFile(log)}}, &skipped);
  CHECK(skipped.empty());
  return events;
}

std::string Show(const std::vector<knock::AuditEvent>& events) {
  std::string text;
  for (const knock::AuditEvent& event : events)
    text += knock::FormatAuditEvent(event) + "\n";
  return text;
}

}  // namespace

TEST_CASE(
    "The summary: grants per client and source, refusals, open holes, a "
    "timeline") {
  CHECK(
      knock::FormatAuditSummary(SmallLog(), kT0Us + 32 * kSecondUs) ==
      "10 records, 2026-11-29T18:57:39.123456Z to 2026-11-29T18:58:19.123456Z\n"
      "\n"
      "grants per client:\n"
      "  alice: 1 grant, 1 refresh\n"
      "  bob: 1 grant\n"
      "\n"
      "grants per source:\n"
      "  198.18.0.2: 1 grant, 1 refresh\n"
      "  2001:db8::5: 1 grant\n"
      "\n"
      "refused per source:\n"
      "  198.18.0.9: 2 replays, 1 expired window\n"
      "\n"
      "holes open now:\n"
      "  bob ssh from 2001:db8::5 until 2026-11-29T18:58:12.123456Z\n"
      "\n"
      "timeline:\n"
      "  2026-11-29T18:57:39.123456Z  start           /etc/knockd/knockd.toml, "
      "1 client, knock ports 16384-32767, firewall nftables\n"
      "  2026-11-29T18:57:40.123456Z  grant           alice ssh from "
      "198.18.0.2 ports tcp/22 until 2026-11-29T18:58:10.123456Z\n"
      "  2026-11-29T18:57:42.123456Z  grant           bob ssh from 2001:db8::5 "
      "ports tcp/22 until 2026-11-29T18:58:12.123456Z\n"
      "  2026-11-29T18:57:49.123456Z  refresh         alice ssh from "
      "198.18.0.2 ports tcp/22 until 2026-11-29T18:58:19.123456Z\n"
      "  2026-11-29T18:57:50.123456Z  replay          alice ssh from "
      "198.18.0.9 (first used by 198.18.0.2)\n"
      "  2026-11-29T18:57:51.123456Z  expired_window  bob ssh from 198.18.0.9\n"
      "  2026-11-29T18:57:52.123456Z  replay          bob ssh from 198.18.0.9 "
      "(first used by 198.18.0.2)\n"
      "  2026-11-29T18:57:59.123456Z  reload          refused: "
      "knockd.toml:3:1: unknown key \"x\"\n"
      "  2026-11-29T18:58:19.123456Z  expiry          alice ssh from "
      "198.18.0.2\n");
  // Once bob's time is up nothing is open.
  CHECK(knock::FormatAuditSummary(SmallLog(), kT0Us + 33 * kSecondUs)
            .find("holes open now:\n  none\n") != std::string::npos);
}

TEST_CASE("An empty log summarises as nothing") {
  CHECK(knock::FormatAuditSummary({}, kT0Us) ==
        "0 records\n\ngrants per client:\n  none\n\ngrants per source:\n  "
        "none\n\nrefused per source:\n  none\n\nholes open now:\n  none\n\n"
        "timeline:\n");
}

TEST_CASE("Filters: client, source, event kind and a time range") {
  const std::vector<knock::AuditEvent> events = SmallLog();
  knock::AuditFilter by_client;
  by_client.client = "bob";
  CHECK(Show(knock::FilterAuditEvents(events, by_client)) ==
        "2026-11-29T18:57:42.123456Z  grant           bob ssh from 2001:db8::5 "
        "ports tcp/22 until 2026-11-29T18:58:12.123456Z\n"
        "2026-11-29T18:57:51.123456Z  expired_window  bob ssh from 198.18.0.9\n"
        "2026-11-29T18:57:52.123456Z  replay          bob ssh from 198.18.0.9 "
        "(first used by 198.18.0.2)\n");
  knock::AuditFilter replays_from;
  replays_from.source = "198.18.0.9";
  replays_from.event = "replay";
  CHECK(knock::FilterAuditEvents(events, replays_from).size() == 2);
  knock::AuditFilter window;
  std::string err;
  REQUIRE(knock::ParseAuditTime("2026-11-29T18:57:42.123456Z", &window.since_us,
                                &err));
  REQUIRE(
      knock::ParseAuditTime("2026-11-29T18:57:50Z", &window.until_us, &err));
  const std::vector<knock::AuditEvent> kept =
      knock::FilterAuditEvents(events, window);
  REQUIRE(kept.size() == 2);
  CHECK(kept[0].event == "grant");
  CHECK(kept[1].event == "refresh");
  // --json gives the lines as logged, seal and all.
  CHECK(kept[0].text.rfind("{\"seq\":3,", 0) == 0);
}

TEST_CASE("Times for --since and --until are UTC, to the microsecond") {
  int64_t us = 0;
  std::string err;
  REQUIRE(knock::ParseAuditTime("2026-11-29T18:57:39.123456Z", &us, &err));
  CHECK(us == kT0Us);
  REQUIRE(knock::ParseAuditTime("2026-11-29T18:57:39.5Z", &us, &err));
  CHECK(us == kT0Us - 123456 + 500000);
  REQUIRE(knock::ParseAuditTime("2026-11-29", &us, &err));
  CHECK(us == kT0Us - 123456 - (18 * 3600 + 57 * 60 + 39) * kSecondUs);
  CHECK_FALSE(knock::ParseAuditTime("2026-11-29 18:57", &us, &err));
  CHECK(err ==
        "not a UTC time \"2026-11-29 18:57\" (2026-11-29, 2026-11-29T18:57:39Z "
        "or with .123456 before Z)");
  CHECK_FALSE(knock::ParseAuditTime("2026-13-01", &us, &err));
}

TEST_CASE("Lines that are not records are skipped with their place") {
  std::vector<std::string> skipped;
  const std::vector<knock::AuditEvent> events =
      knock::ReadAuditEvents({{"a.jsonl", "garbage\n{\"seq\":1"}}, &skipped);
  CHECK(events.empty());
  CHECK(skipped == std::vector<std::string>{
                       "a.jsonl:1: not a record, skipped (no seal at the end "
                       "of the line)",
                       "a.jsonl:2: not a record, skipped (an incomplete last "
                       "line)"});
}

TEST_CASE(
    "A restore record reads as who changed the table and what came back") {
  const std::string log = audit_test::WriteLog(
      audit_test::TempDir(),
      {knock::AuditRestore(kT0Us, "knockd", "process nft (pid 42)", 2)},
      audit_test::FixedKey(1), knock::AuditKeyId(audit_test::FixedKey(1)));
  std::vector<std::string> skipped;
  const std::vector<knock::AuditEvent> events = knock::ReadAuditEvents(
      {{"audit.jsonl", audit_test::ReadFile(log)}}, &skipped);
  REQUIRE(events.size() == 2);
  CHECK(knock::FormatAuditEvent(events[1]) ==
        "2026-11-29T18:57:39.123456Z  restore         table knockd changed by "
        "process nft (pid 42), put back with 2 live grants");
}

TEST_CASE("Logs of several servers are summarised together, each named") {
  const std::string web =
      audit_test::ReadFile(audit_test::WriteSampleLog(audit_test::TempDir()));
  const knock::AuditFile web_file{"web/audit.jsonl", web};
  const knock::AuditFile db_file{"db/audit.jsonl", web};
  std::vector<std::string> skipped;
  const std::vector<knock::AuditEvent> events =
      knock::ReadAuditEvents({web_file, db_file}, &skipped);
  REQUIRE(events.size() == 12);
  CHECK(events.front().server == "web");
  CHECK(events.back().server == "db");
  const std::string summary = knock::FormatAuditSummary(events, kT0Us);
  CHECK(summary.rfind("12 records from 2 servers\n", 0) == 0);
  CHECK(summary.find("grants per server:\n  web: 1 grant\n  db: 1 grant\n") !=
        std::string::npos);
  // In time order across the servers: both starts before either grant.
  const size_t db_start = summary.find("  db  2026-11-29T18:57:39.123456Z");
  const size_t web_grant = summary.find("  web  2026-11-29T18:57:40.123456Z");
  REQUIRE(db_start != std::string::npos);
  REQUIRE(web_grant != std::string::npos);
  CHECK(db_start < web_grant);
  // A hole open on one server stays one server's: web's log ends before
  // its grant's expiry, db's has it.
  std::vector<std::string> lines = audit_test::Lines(web);
  while (lines.back().find("\"grant\"") == std::string::npos) lines.pop_back();
  const knock::AuditFile web_cut{"web/audit.jsonl",
                                 audit_test::JoinLines(lines)};
  CHECK(knock::FormatAuditSummary(
            knock::ReadAuditEvents({web_cut, db_file}, &skipped),
            kT0Us + 2 * kSecondUs)
            .find("holes open now:\n  web: alice ssh from 198.18.0.2 until "
                  "2026-11-29T18:58:10.123456Z\n\n") != std::string::npos);
  // Control: one server's log keeps the single-server summary.
  CHECK(knock::FormatAuditSummary(knock::ReadAuditEvents({web_file}, &skipped),
                                  kT0Us)
            .find("grants per server") == std::string::npos);
}
