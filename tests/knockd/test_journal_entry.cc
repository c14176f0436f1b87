// Structured log events: their journald fields word for word, through a
// fake journal socket the test binds, and RFC 5424 structured data.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>

#include "knockd/shared/journal_entry.h"
#include "knockd/shared/logger.h"

namespace {

/// A datagram socket bound where journald's would be.
class FakeJournal {
 public:
  FakeJournal() {
    path_ = std::filesystem::temp_directory_path().string() +
            "/knockd-journal-" + std::to_string(getpid());
    unlink(path_.c_str());
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    memcpy(address.sun_path, path_.data(), path_.size());
    REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) ==
            0);
  }
  ~FakeJournal() {
    close(fd_);
    unlink(path_.c_str());
  }
  const std::string& path() const { return path_; }
  /// The next datagram, or "" if none is waiting.
  std::string Receive() {
    char buffer[4096];
    const ssize_t got = recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT);
    return got > 0 ? std::string(buffer, got) : "";
  }

 private:
  std::string path_;
  int fd_ = -1;
};

knock::KnockOutcome Grant() {
  knock::KnockOutcome outcome;
  outcome.client = "alice";
  outcome.service = "ssh";
  std::string err;
  REQUIRE(knock::IpAddress::Parse("198.18.0.7", &outcome.match.source, &err));
  outcome.match.owner.window = 59000000;
  outcome.match.owner.slot = 2;
  outcome.match.ports = {22, 2222};
  outcome.match.expires_us = 1764700000000000;
  return outcome;
}

}  // namespace

TEST_CASE("A grant reaches journald with its fields, word for word") {
  FakeJournal journal;
  knock::Logger logger("knockd");
  REQUIRE(logger.OpenJournal(journal.path()));
  logger.Event(knock::LogLevel::kInfo, "granted client alice ...",
               knock::OutcomeFields(Grant()));
  CHECK(journal.Receive() ==
        "MESSAGE=granted client alice ...\n"
        "PRIORITY=6\n"
        "SYSLOG_IDENTIFIER=knockd\n"
        "MESSAGE_ID=5b0e2d6a3c1f4e8b9a7d2c4f6e8a1b3d\n"
        "KNOCK_VERDICT=granted\n"
        "KNOCK_CLIENT=alice\n"
        "KNOCK_SERVICE=ssh\n"
        "KNOCK_SOURCE=198.18.0.7\n"
        "KNOCK_WINDOW=59000000\n"
        "KNOCK_SLOT=2\n"
        "KNOCK_PORTS=22,2222\n"
        "KNOCK_UNTIL=2025-12-02T18:26:40.000000Z\n");
  CHECK(journal.Receive().empty());
}

TEST_CASE("A replay names the first source; plain messages have no fields") {
  FakeJournal journal;
  knock::Logger logger("knockd");
  REQUIRE(logger.OpenJournal(journal.path()));
  knock::KnockOutcome replay = Grant();
  replay.match.verdict = knock::Verdict::kReplay;
  std::string err;
  REQUIRE(
      knock::IpAddress::Parse("2001:db8::1", &replay.match.first_source, &err));
  logger.Event(knock::LogLevel::kWarning, "refused replay",
               knock::OutcomeFields(replay));
  CHECK(journal.Receive() ==
        "MESSAGE=refused replay\nPRIORITY=4\nSYSLOG_IDENTIFIER=knockd\n"
        "MESSAGE_ID=5b0e2d6a3c1f4e8b9a7d2c4f6e8a1b3f\n"
        "KNOCK_VERDICT=replay\nKNOCK_CLIENT=alice\nKNOCK_SERVICE=ssh\n"
        "KNOCK_SOURCE=198.18.0.7\nKNOCK_WINDOW=59000000\nKNOCK_SLOT=2\n"
        "KNOCK_FIRST_SOURCE=2001:db8::1\n");
  logger.Error("the capture failed");
  CHECK(journal.Receive() ==
        "MESSAGE=the capture failed\nPRIORITY=3\nSYSLOG_IDENTIFIER=knockd\n");
  // Below the level: nothing is sent.
  logger.set_min_level(knock::LogLevel::kWarning);
  logger.Info("quiet");
  CHECK(journal.Receive().empty());
}

TEST_CASE("A grant that opened nothing has its own MESSAGE_ID and error") {
  FakeJournal journal;
  knock::Logger logger("knockd");
  REQUIRE(logger.OpenJournal(journal.path()));
  logger.Event(knock::LogLevel::kError, "firewall (nftables) could not open",
               knock::NotEnforcedFields(Grant(), "No buffer space"));
  CHECK(journal.Receive() ==
        "MESSAGE=firewall (nftables) could not open\n"
        "PRIORITY=3\n"
        "SYSLOG_IDENTIFIER=knockd\n"
        "MESSAGE_ID=5b0e2d6a3c1f4e8b9a7d2c4f6e8a1b45\n"
        "KNOCK_VERDICT=granted\n"
        "KNOCK_CLIENT=alice\n"
        "KNOCK_SERVICE=ssh\n"
        "KNOCK_SOURCE=198.18.0.7\n"
        "KNOCK_WINDOW=59000000\n"
        "KNOCK_SLOT=2\n"
        "KNOCK_PORTS=22,2222\n"
        "KNOCK_UNTIL=2025-12-02T18:26:40.000000Z\n"
        "KNOCK_ENFORCED=false\n"
        "KNOCK_ERROR=No buffer space\n");
}

TEST_CASE("A bound grant and a policy refusal carry their fields") {
  knock::KnockOutcome outcome = Grant();
  outcome.match.owner.bound = true;
  outcome.enforced = false;
  outcome.refused = "unbound_refused";
  const std::vector<knock::LogField> fields = knock::OutcomeFields(outcome);
  REQUIRE(fields.size() >= 2);
  CHECK(fields[fields.size() - 2].key == "KNOCK_BOUND");
  CHECK(fields[fields.size() - 2].value == "1");
  CHECK(fields.back().key == "KNOCK_REFUSED");
  CHECK(fields.back().value == "unbound_refused");
  // Control: a plain grant has neither.
  for (const knock::LogField& field : knock::OutcomeFields(Grant())) {
    CHECK(field.key != "KNOCK_BOUND");
    CHECK(field.key != "KNOCK_REFUSED");
  }
}

TEST_CASE("Lifecycle events carry their MESSAGE_ID and event name") {
  FakeJournal journal;
  knock::Logger logger("knockd");
  REQUIRE(logger.OpenJournal(journal.path()));
  logger.Event(knock::LogLevel::kInfo, "started: ...",
               knock::LifecycleFields(knock::kMessageIdStarted, "started"));
  CHECK(journal.Receive() ==
        "MESSAGE=started: ...\nPRIORITY=6\nSYSLOG_IDENTIFIER=knockd\n"
        "MESSAGE_ID=5b0e2d6a3c1f4e8b9a7d2c4f6e8a1b41\nKNOCK_EVENT=started\n");
}

TEST_CASE("A value with a newline uses the binary form with its length") {
  const std::string entry =
      knock::EncodeJournalEntry({{"MESSAGE", "a\nb"}, {"X", "y"}});
  CHECK(entry == std::string("MESSAGE\n\x03\0\0\0\0\0\0\0a\nb\nX=y\n", 24));
}

TEST_CASE("Without a journal the logger says so and keeps stderr") {
  knock::Logger logger("knockd");
  CHECK_FALSE(logger.OpenJournal("/nonexistent/journal/socket"));
  CHECK_FALSE(logger.journal_open());
}

TEST_CASE("syslog's structured data is RFC 5424 with escapes") {
  CHECK(knock::FormatStructuredData({{"MESSAGE_ID", "5b0e"},
                                     {"KNOCK_CLIENT", "al\"i]c\\e"},
                                     {"KNOCK_SOURCE", "198.18.0.7"}}) ==
        "[knock@32473 message_id=\"5b0e\" client=\"al\\\"i\\]c\\\\e\" "
        "source=\"198.18.0.7\"]");
}
