// The firewall helper's state machine, run in-process with a fake clock, a
// recording firewall and a scripted sniffer forked through the launcher
// seam: what it grants, what it refuses, and when it stops.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "common/bound_sequence.h"
#include "common/clock.h"
#include "common/key_file.h"
#include "common/knock_sequence.h"
#include "common/pair_key.h"
#include "knockd/client_sequence.h"
#include "knockd/helper/helper.h"
#include "knockd/helper/sniffer_request_check.h"
#include "knockd/shared/daemon_pid_file.h"
#include "knockd/shared/privsep_message.h"
#include "knockd/shared/reload_answer.h"
#include "knockd/shared/sealed_memfd.h"
#include "knockd/shared/sequence_table_image.h"
#include "temp_dir.h"

namespace {

constexpr int64_t kStepSeconds = 30;
constexpr int64_t kStartSeconds = 1700000010;
constexpr int kStepWaitMs = 20;
constexpr int kMaxSteps = 250;

/// Time as the test sets it.
class FakeClock : public knock::Clock {
 public:
  int64_t NowMicros() const override { return now_us; }
  int64_t now_us = kStartSeconds * 1000000;
};

/// What the helper asked of its firewall.
struct FirewallRecord {
  int setups = 0;
  std::vector<knock::PortRange> layouts;
  std::vector<knock::Grant> opened;
};

/// A firewall that only records.
class RecordingFirewall : public knock::Firewall {
 public:
  explicit RecordingFirewall(std::shared_ptr<FirewallRecord> record)
      : record_(std::move(record)) {}
  bool Setup(const knock::FirewallLayout& layout, std::string*) override {
    ++record_->setups;
    record_->layouts.push_back(layout.knock_range);
    return true;
  }
  bool Open(const knock::Grant& grant, std::string*) override {
    record_->opened.push_back(grant);
    return true;
  }
  bool Flush(std::string*) override { return true; }
  const char* Name() const override { return "recording"; }

 private:
  std::shared_ptr<FirewallRecord> record_;
};

/// The sniffer's side of the channel, for scripts.
struct FakeSniffer {
  knock::SnifferStart* start;
  void Send(const std::vector<uint8_t>& message) {
    std::string err;
    if (!start->channel.Send(message, -1, &err)) _exit(3);
  }
  /// Blocks for the helper's next message; its memfd is read and closed.
  knock::PrivsepMessage Receive(std::string* memfd_text = nullptr) {
    for (;;) {
      start->channel.WaitReadable(1000);
      std::vector<uint8_t> bytes;
      int fd = -1;
      std::string err;
      const knock::ReceiveResult got =
          start->channel.Receive(&bytes, &fd, &err);
      if (got == knock::ReceiveResult::kNone) continue;
      if (got != knock::ReceiveResult::kMessage) _exit(4);
      knock::PrivsepMessage message;
      if (!knock::DecodeHelperMessage(bytes.data(), bytes.size(), &message,
                                      &err))
        _exit(5);
      std::string text;
      if (fd >= 0) {
        if (!knock::ReadSealedMemfd(fd, 1 << 30, &text, &err)) _exit(6);
        close(fd);
      }
      if (memfd_text != nullptr) *memfd_text = text;
      return message;
    }
  }
  /// Waits for shutdown, answering nothing else; exits 0.
  /// Waits for shutdown, taking tables; exits 0, or 8 on a reconfigure.
  int WaitForShutdown() {
    for (;;) {
      const knock::PrivsepMessageType type = Receive().type;
      if (type == knock::PrivsepMessageType::kShutdown) return 0;
      if (type == knock::PrivsepMessageType::kReconfigure) return 8;
    }
  }
};

/// A launcher whose child runs `script`.
class ScriptedLauncher : public knock::SnifferLauncher {
 public:
  std::function<int(FakeSniffer*)> script;
  bool Prepare(const knock::ServerConfig&, std::string*) override {
    return true;
  }
  int Run(knock::SnifferStart start, knock::Logger*) override {
    FakeSniffer sniffer{&start};
    // Every helper's first message is the tables; every script's sniffer
    // takes them and says ready, as the real one does.
    if (sniffer.Receive().type != knock::PrivsepMessageType::kTable) return 7;
    sniffer.Send(knock::EncodeReady());
    return script(&sniffer);
  }
};

/// Stderr, where the helper logs, captured to a file for the test's life.
class CapturedLog {
 public:
  explicit CapturedLog(std::string path) : path_(std::move(path)) {
    saved_ = dup(2);
    const int fd = open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    close(fd);
  }
  ~CapturedLog() {
    dup2(saved_, 2);
    close(saved_);
  }
  std::string Text() const {
    std::ifstream in(path_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  bool Has(const std::string& line) const {
    return Text().find(line) != std::string::npos;
  }

 private:
  std::string path_;
  int saved_ = -1;
};

/// A configuration, keys and a state directory in a scratch directory.
struct World {
  TempDir scratch{"knock-helper"};
  std::string dir = scratch.path();
  knock::PrivateKey server = knock::PrivateKey::Generate();
  knock::PrivateKey alice = knock::PrivateKey::Generate();
  knock::PrivateKey bob = knock::PrivateKey::Generate();
  std::shared_ptr<FirewallRecord> firewall = std::make_shared<FirewallRecord>();
  FakeClock clock;
  ScriptedLauncher launcher;
  std::unique_ptr<CapturedLog> log;
  /// Where the configuration puts state_dir, under `dir`.
  std::string state_subdir = "state";

  World() {
    log = std::make_unique<CapturedLog>(dir + "/log");
    std::string err;
    REQUIRE(knock::WritePrivateKeyFile(dir + "/server.key", server, &err));
    WriteConfig("");
  }
  bool Logged(const std::string& line) const { return log->Has(line); }
  /// The helper's runtime directory (the daemon's is /run/knockd).
  std::string runtime_dir() const { return dir + "/run"; }

  std::string config_path() const { return dir + "/knockd.toml"; }

  void WriteConfig(const std::string& extra) {
    std::ofstream out(config_path());
    out << "private_key_file = \"" << dir << "/server.key\"\n"
        << "state_dir = \"" << dir << "/" << state_subdir << "\"\n"
        << "[knock]\nports = \"16384-32767\"\nstep = \"30s\"\nskew = 1\n"
        << "slots = 4\n"
        << extra << "\n"
        << "[service.ssh]\nports = [\"tcp/22\"]\nopen_for = \"30s\"\n"
        << "[[client]]\nname = \"alice\"\npublic_key = \""
        << alice.Public().ToText() << "\"\nservices = [\"ssh\"]\n"
        << "[[client]]\nname = \"bob\"\npublic_key = \""
        << bob.Public().ToText() << "\"\nservices = [\"ssh\"]\n";
  }

  knockd::HelperSeams Seams() {
    knockd::HelperSeams seams;
    auto record = firewall;
    seams.launcher = &launcher;
    seams.clock = &clock;
    seams.make_firewall = [record](const knock::FirewallSettings&) {
      return std::make_unique<RecordingFirewall>(record);
    };
    seams.drop_privileges = false;
    seams.runtime_dir = runtime_dir();
    return seams;
  }

  /// Starts a helper on this world, its sniffer running `script` after
  /// the tables and its ready; the test fails here when Start fails.
  std::unique_ptr<knockd::Helper> StartHelper(
      std::function<int(FakeSniffer*)> script) {
    launcher.script = std::move(script);
    auto helper = std::make_unique<knockd::Helper>(config_path(), Seams());
    std::string err;
    const bool started = helper->Start(&err);
    INFO(err);
    REQUIRE(started);
    return helper;
  }

  uint64_t Window() const {
    return knock::WindowAt(clock.now_us / 1000000, kStepSeconds);
  }

  /// The ports a client sends for its ssh sequence.
  std::vector<uint16_t> Sent(const knock::PrivateKey& client, uint64_t window,
                             uint8_t slot) const {
    return ClientSequence(client, server.Public(), {window, slot, "ssh"});
  }
};

knock::IpAddress Address(const std::string& text) {
  knock::IpAddress address;
  std::string err;
  REQUIRE(knock::IpAddress::Parse(text, &address, &err));
  return address;
}

std::vector<uint8_t> GrantMessage(const char* source, uint32_t client,
                                  uint64_t window, uint8_t slot,
                                  const std::vector<uint16_t>& ports) {
  knock::IpAddress address;
  std::string err;
  knock::IpAddress::Parse(source, &address, &err);
  return knock::EncodeGrant(address, {client, 0, window, slot}, 30000, ports);
}

/// Steps the helper until `done` or the step budget runs out.
bool StepUntil(knockd::Helper* helper, const std::function<bool()>& done) {
  for (int i = 0; i < kMaxSteps && !done(); ++i) helper->Step(kStepWaitMs);
  return done();
}

}  // namespace

TEST_CASE("the helper stops when the sniffer says ready twice", "[helper]") {
  World w;
  auto helper = w.StartHelper([](FakeSniffer* s) {
    // The second ready: the launcher sent the first.
    s->Send(knock::EncodeReady());
    return s->WaitForShutdown();
  });
  CHECK(StepUntil(helper.get(), [&] { return helper->stopping(); }));
  CHECK(helper->Finish() == 1);
  CHECK(
      w.Logged("stopping: the sniffer said ready twice; the firewall table "
               "stays (fail closed)"));
  CHECK(w.firewall->opened.empty());
}

TEST_CASE("the helper stops on a reload nobody asked for", "[helper]") {
  World w;
  auto helper = w.StartHelper([](FakeSniffer* s) {
    s->Send(knock::EncodeReconfigured(true));
    return s->WaitForShutdown();
  });
  CHECK(StepUntil(helper.get(), [&] { return helper->stopping(); }));
  CHECK(helper->Finish() == 1);
  CHECK(w.Logged("stopping: the sniffer answered a reload nobody asked for"));
}

TEST_CASE("the helper grants a true sequence once and refuses its replay",
          "[helper]") {
  World w;
  const uint64_t window = w.Window();
  const std::vector<uint16_t> sent = w.Sent(w.alice, window, 1);
  auto helper = w.StartHelper([&](FakeSniffer* s) {
    s->Send(GrantMessage("198.18.0.7", 0, window, 1, sent));
    // The sniffer's copy of the used set lagged, or it lies: the helper's
    // own set refuses the second address.
    s->Send(GrantMessage("198.18.0.8", 0, window, 1, sent));
    return s->WaitForShutdown();
  });
  CHECK(StepUntil(helper.get(),
                  [&] { return w.Logged("firewall helper refused a grant"); }));
  CHECK_FALSE(helper->stopping());
  REQUIRE(w.firewall->opened.size() == 1);
  CHECK(w.firewall->opened[0].source == Address("198.18.0.7"));
  CHECK(w.Logged("granted client alice service ssh from 198.18.0.7 (window " +
                 std::to_string(window) + " slot 1) ports "));
  CHECK(
      w.Logged("firewall helper refused a grant: client alice service ssh "
               "from 198.18.0.8 (window " +
               std::to_string(window) + " slot 1): used by 198.18.0.7"));
  CHECK(helper->Finish() == 0);
}

TEST_CASE("a grant whose ports are not its sequence stops the helper",
          "[helper]") {
  World w;
  const uint64_t window = w.Window();
  std::vector<uint16_t> forged = w.Sent(w.alice, window, 0);
  forged[5] = forged[5] == 16384 ? 16385 : forged[5] - 1;
  // Control: the same script with the true ports opens.
  const bool lie = GENERATE(true, false);
  INFO((lie ? "forged" : "true") << " ports");
  const std::vector<uint16_t> ports = lie ? forged : w.Sent(w.alice, window, 0);
  auto helper = w.StartHelper([&](FakeSniffer* s) {
    s->Send(GrantMessage("198.18.99.99", 0, window, 0, ports));
    return s->WaitForShutdown();
  });
  StepUntil(helper.get(),
            [&] { return helper->stopping() || !w.firewall->opened.empty(); });
  if (lie) {
    CHECK(helper->stopping());
    CHECK(helper->Finish() == 1);
    CHECK(w.firewall->opened.empty());
    CHECK(
        w.Logged("stopping: the sniffer sent a grant without its sequence: "
                 "the grant's ports are not the sequence of client 0 "
                 "service 0 window " +
                 std::to_string(window) + " slot 0"));
  } else {
    CHECK_FALSE(helper->stopping());
    CHECK(w.firewall->opened.size() == 1);
    CHECK(helper->Finish() == 0);
  }
}

TEST_CASE("the helper refuses grants for addresses that are no single host",
          "[helper]") {
  World w;
  const uint64_t window = w.Window();
  const std::vector<std::pair<const char*, const char*>> cases = {
      {"224.0.0.1", "link-local multicast"},
      {"239.1.2.3", "multicast"},
      {"255.255.255.255", "broadcast"},
      {"0.0.0.0", "unspecified"},
      {"127.0.0.1", "loopback"},
      {"::", "unspecified"},
      {"::1", "loopback"},
      {"ff02::1", "link-local multicast"},
      {"::ffff:198.18.0.7", "IPv4-mapped"}};
  auto helper = w.StartHelper([&](FakeSniffer* s) {
    for (size_t i = 0; i < cases.size(); ++i) {
      const uint8_t slot = static_cast<uint8_t>(i % 4);
      const uint64_t in_window = window - i / 4;
      s->Send(GrantMessage(cases[i].first, i % 2, in_window, slot,
                           w.Sent(i % 2 ? w.bob : w.alice, in_window, slot)));
    }
    // Control: a unicast address opens.
    s->Send(GrantMessage("198.18.0.7", 0, window + 1, 0,
                         w.Sent(w.alice, window + 1, 0)));
    return s->WaitForShutdown();
  });
  CHECK(StepUntil(helper.get(), [&] { return !w.firewall->opened.empty(); }));
  CHECK_FALSE(helper->stopping());
  REQUIRE(w.firewall->opened.size() == 1);
  CHECK(w.firewall->opened[0].source == Address("198.18.0.7"));
  for (const auto& [address, name] : cases) {
    INFO(address);
    CHECK(w.Logged(std::string(" from ") + address + " (window "));
    CHECK(w.Logged(std::string(": a ") + name + " address is no single host"));
  }
  CHECK(helper->Finish() == 0);
}

TEST_CASE("a grant whose used set cannot be saved opens nothing", "[helper]") {
  World w;
  const uint64_t window = w.Window();
  const std::vector<uint16_t> sent = w.Sent(w.alice, window, 2);
  // A directory where the temporary file goes: no write succeeds, even
  // for root.
  REQUIRE(mkdir((w.dir + "/state").c_str(), 0700) == 0);
  REQUIRE(mkdir((w.dir + "/state/used-sequences.tmp").c_str(), 0700) == 0);
  auto helper = w.StartHelper([&](FakeSniffer* s) {
    s->Send(GrantMessage("198.18.0.7", 0, window, 2, sent));
    // The test makes the state writable and rolls the clock: a new table
    // says so. The same grant then opens, as a first use.
    if (s->Receive().type != knock::PrivsepMessageType::kTable) return 9;
    s->Send(GrantMessage("198.18.0.7", 0, window, 2, sent));
    return s->WaitForShutdown();
  });
  CHECK(StepUntil(helper.get(), [&] { return w.Logged("refused a grant"); }));
  CHECK(w.firewall->opened.empty());
  CHECK(
      w.Logged("firewall helper refused a grant: client alice service ssh "
               "from 198.18.0.7 (window " +
               std::to_string(window) +
               " slot 2): the used set cannot be saved: " + w.dir +
               "/state/used-sequences.tmp: cannot write the used-sequence "
               "store: Is a directory"));
  CHECK_FALSE(helper->stopping());
  // The refused use was forgotten: the retry is a first use, not a refresh.
  REQUIRE(rmdir((w.dir + "/state/used-sequences.tmp").c_str()) == 0);
  w.clock.now_us += kStepSeconds * 1000000;
  CHECK(StepUntil(helper.get(), [&] { return !w.firewall->opened.empty(); }));
  CHECK(w.Logged("granted client alice service ssh from 198.18.0.7 (window " +
                 std::to_string(window) + " slot 2)"));
  CHECK_FALSE(w.Logged("refreshed client alice"));
  CHECK(helper->Finish() == 0);
}

TEST_CASE("the used set covers every window the helper accepts", "[helper]") {
  World w;
  const uint64_t now = w.Window();
  const knock::WindowSpan span = knock::AcceptedWindows(
      w.clock.now_us,
      knock::KnockSettings{
          {16384, 32767}, 8, knock::KnockProtocol::kTcp, 30, 1});
  REQUIRE(span.oldest == now - 3);
  REQUIRE(span.newest == now + 2);
  for (const uint64_t edge : {span.oldest, span.newest}) {
    INFO("window " << edge << ", now " << now);
    World e;
    const std::vector<uint16_t> sent = e.Sent(e.alice, edge, 3);
    auto helper = e.StartHelper([&](FakeSniffer* s) {
      s->Send(GrantMessage("198.18.0.7", 0, edge, 3, sent));
      s->Send(GrantMessage("198.18.0.8", 0, edge, 3, sent));
      // After a roll (the helper pruned on every timer in between), the
      // same owner from a third address.
      if (s->Receive().type != knock::PrivsepMessageType::kTable) return 9;
      s->Send(GrantMessage("198.18.0.9", 0, edge, 3, sent));
      return s->WaitForShutdown();
    });
    CHECK(StepUntil(helper.get(),
                    [&] { return e.Logged("used by 198.18.0.7"); }));
    for (int i = 0; i < 5; ++i) helper->Step(kStepWaitMs);
    CHECK(e.firewall->opened.size() == 1);
    e.clock.now_us += kStepSeconds * 1000000;
    StepUntil(helper.get(), [&] {
      return helper->stopping() || e.Logged("from 198.18.0.9");
    });
    CHECK(e.firewall->opened.size() == 1);
    if (edge == span.oldest) {
      // Rolled out of the accepted span: no longer a grant at all.
      CHECK(helper->stopping());
      CHECK(e.Logged(
          "stopping: the sniffer sent a request out of range: "
          "grant message: window " +
          std::to_string(edge) + " is outside " + std::to_string(edge + 1) +
          "-" + std::to_string(span.newest + 1)));
    } else {
      CHECK_FALSE(helper->stopping());
      CHECK(e.Logged("from 198.18.0.9 (window " + std::to_string(edge) +
                     " slot 3): used by 198.18.0.7"));
    }
    helper->Finish();
  }
}

TEST_CASE(
    "the helper refuses a sequence used before the clock stepped forward "
    "and back",
    "[helper]") {
  World w;
  const uint64_t window = w.Window();
  const std::vector<uint16_t> sent = w.Sent(w.alice, window, 1);
  auto helper = w.StartHelper([&](FakeSniffer* s) {
    s->Send(GrantMessage("198.18.0.7", 0, window, 1, sent));
    // The tables of the clock ten windows ahead, then back again.
    if (s->Receive().type != knock::PrivsepMessageType::kTable) return 9;
    if (s->Receive().type != knock::PrivsepMessageType::kTable) return 9;
    // A sniffer that lost its copy (or lies) forwards the sniffed sequence
    // from another address; then, as the control, a fresh one of the next
    // window, which opens.
    s->Send(GrantMessage("198.18.0.66", 0, window, 1, sent));
    s->Send(GrantMessage("198.18.0.8", 0, window + 1, 0,
                         w.Sent(w.alice, window + 1, 0)));
    return s->WaitForShutdown();
  });
  REQUIRE(
      StepUntil(helper.get(), [&] { return w.firewall->opened.size() == 1; }));
  const int64_t before_step_us = w.clock.now_us;
  w.clock.now_us += 10 * kStepSeconds * 1000000;
  for (int i = 0; i < 3; ++i) helper->Step(kStepWaitMs);
  w.clock.now_us = before_step_us + 1000000;
  CHECK(
      StepUntil(helper.get(), [&] { return w.firewall->opened.size() == 2; }));
  CHECK_FALSE(helper->stopping());
  REQUIRE(w.firewall->opened.size() == 2);
  CHECK(w.firewall->opened[1].source == Address("198.18.0.8"));
  // Refused by the floor: the entry that said "used by 198.18.0.7" was
  // pruned while the clock was ahead.
  CHECK(w.Logged(
      "firewall helper refused a grant: client alice service ssh "
      "from 198.18.0.66 (window " +
      std::to_string(window) + " slot 1): window " + std::to_string(window) +
      " was pruned from the used set (it holds no window that began "
      "before " +
      knock::FormatTimestampUs(static_cast<int64_t>(window + 1) * kStepSeconds *
                               1000000) +
      ") and may have been used: the clock went back"));
  CHECK_FALSE(w.Logged("used by 198.18.0.7"));
  CHECK(helper->Finish() == 0);
}

TEST_CASE("a grant just outside the accepted windows stops the helper",
          "[helper]") {
  World w;
  const uint64_t now = w.Window();
  const uint64_t window = GENERATE_COPY(now - 4, now + 3);
  INFO("window " << window << ", now " << now);
  const std::vector<uint16_t> sent = w.Sent(w.alice, window, 0);
  auto helper = w.StartHelper([&](FakeSniffer* s) {
    s->Send(GrantMessage("198.18.0.7", 0, window, 0, sent));
    return s->WaitForShutdown();
  });
  CHECK(StepUntil(helper.get(), [&] { return helper->stopping(); }));
  CHECK(helper->Finish() == 1);
  CHECK(w.firewall->opened.empty());
  CHECK(w.Logged("grant message: window " + std::to_string(window) +
                 " is outside " + std::to_string(now - 3) + "-" +
                 std::to_string(now + 2)));
}

TEST_CASE("a reload the sniffer refuses is rolled back, and no key crosses",
          "[helper]") {
  World w;
  const uint64_t window = w.Window();
  const std::string key_text = w.server.ToTextForKeyFile();
  const std::string key_bytes(w.server.bytes().begin(), w.server.bytes().end());
  auto helper = w.StartHelper([&](FakeSniffer* s) {
    std::string handed;
    const knock::PrivsepMessage message = s->Receive(&handed);
    if (message.type != knock::PrivsepMessageType::kReconfigure) return 9;
    if (handed.size() != message.config_bytes + message.image_bytes) return 10;
    if (handed.find(key_text) != std::string::npos ||
        handed.find(key_bytes) != std::string::npos)
      return 11;
    s->Send(knock::EncodeReconfigured(false));
    // Still the old configuration: open_for 30 s.
    s->Send(
        GrantMessage("198.18.0.7", 0, window, 0, w.Sent(w.alice, window, 0)));
    return s->WaitForShutdown();
  });
  helper->Step(kStepWaitMs);
  CHECK(w.firewall->setups == 1);
  w.WriteConfig("seq_timeout = \"5s\"");
  REQUIRE(kill(getpid(), SIGHUP) == 0);
  CHECK(StepUntil(helper.get(), [&] { return !w.firewall->opened.empty(); }));
  CHECK(
      w.Logged("reload refused, keeping the running configuration: the "
               "sniffer could not take the new configuration"));
  // Set up for the new configuration, then for the old one again.
  CHECK(w.firewall->setups == 3);
  CHECK_FALSE(helper->stopping());
  CHECK(helper->Finish() == 0);
  CHECK_FALSE(w.Logged("at stop"));
}

TEST_CASE(
    "a SIGHUP while a reload is pending gets a reload of its own after it",
    "[helper]") {
  World w;
  auto helper = w.StartHelper([&](FakeSniffer* s) {
    if (s->Receive().type != knock::PrivsepMessageType::kReconfigure) return 9;
    // Long enough for the test's second SIGHUP to find the reload pending.
    usleep(500 * 1000);
    s->Send(knock::EncodeReconfigured(true));
    // The second reload, which read the configuration after it was asked.
    if (s->Receive().type != knock::PrivsepMessageType::kReconfigure) return 9;
    s->Send(knock::EncodeReconfigured(true));
    return s->WaitForShutdown();
  });
  helper->Step(kStepWaitMs);
  sigval first{}, second{};
  first.sival_int = 1111;
  second.sival_int = 2222;
  REQUIRE(sigqueue(getpid(), SIGHUP, first) == 0);
  helper->Step(kStepWaitMs);
  const int64_t second_sent_ns = knock::ReloadClockNanos();
  REQUIRE(sigqueue(getpid(), SIGHUP, second) == 0);
  std::vector<knock::ReloadAnswer> answers;
  const std::string path = w.dir + "/state/knockd.reload";
  CHECK(StepUntil(helper.get(), [&] {
    return knock::ReadReloadAnswersFile(path, &answers) && answers.size() == 2;
  }));
  CHECK(w.Logged("SIGHUP during a reload: another reload follows this one"));
  REQUIRE(answers.size() == 2);
  CHECK(answers[0].request == knock::ReloadRequest{getpid(), 1111});
  CHECK(answers[1].request == knock::ReloadRequest{getpid(), 2222});
  CHECK(answers[1].accepted);
  // The first reload began before the second request: it does not answer
  // it (control); the second began after it.
  CHECK(answers[0].started_ns < second_sent_ns);
  CHECK(answers[1].started_ns > second_sent_ns);
  CHECK(knock::FindReloadAnswer(answers, {getpid(), 3333}, second_sent_ns) ==
        &answers[1]);
  CHECK_FALSE(helper->stopping());
  CHECK(helper->Finish() == 0);
  CHECK_FALSE(w.Logged("at stop"));
}

namespace {

/// A fake sniffer that takes every reconfigure until the helper stops it.
int AcceptEveryReconfigure(FakeSniffer* s) {
  for (;;) {
    const knock::PrivsepMessageType type = s->Receive().type;
    if (type == knock::PrivsepMessageType::kShutdown) return 0;
    if (type == knock::PrivsepMessageType::kReconfigure)
      s->Send(knock::EncodeReconfigured(true));
  }
}

}  // namespace

TEST_CASE("two SIGHUPs pending at once are one reload that answers both",
          "[helper]") {
  World w;
  auto helper = w.StartHelper(AcceptEveryReconfigure);
  helper->Step(kStepWaitMs);
  // Both queued before the helper reads either: the kernel keeps one
  // pending SIGHUP, with the first sender's token.
  sigval first{}, second{};
  first.sival_int = 1111;
  second.sival_int = 2222;
  const int64_t first_sent_ns = knock::ReloadClockNanos();
  REQUIRE(sigqueue(getpid(), SIGHUP, first) == 0);
  const int64_t second_sent_ns = knock::ReloadClockNanos();
  REQUIRE(sigqueue(getpid(), SIGHUP, second) == 0);
  std::vector<knock::ReloadAnswer> answers;
  const std::string path = w.dir + "/state/knockd.reload";
  CHECK(StepUntil(helper.get(), [&] {
    return knock::ReadReloadAnswersFile(path, &answers);
  }));
  for (int i = 0; i < 5; ++i) helper->Step(kStepWaitMs);
  REQUIRE(knock::ReadReloadAnswersFile(path, &answers));
  REQUIRE(answers.size() == 1);
  CHECK(answers[0].request == knock::ReloadRequest{getpid(), 1111});
  // The second sender finds no answer of its own, but one that began after
  // it asked; the first finds its own.
  const knock::ReloadAnswer* for_second =
      knock::FindReloadAnswer(answers, {getpid(), 2222}, second_sent_ns);
  REQUIRE(for_second != nullptr);
  CHECK(for_second->accepted);
  CHECK(knock::FindReloadAnswer(answers, {getpid(), 1111}, first_sent_ns) ==
        &answers[0]);
  // Control: by its token alone (what reload looked for before), the
  // second sender would have waited for an answer that never comes.
  CHECK(knock::FindReloadAnswer(answers, {getpid(), 2222},
                                answers[0].started_ns) == nullptr);
  CHECK(helper->Finish() == 0);
}

namespace {

/// Starts a helper, rewrites its configuration with `extra`, asks for a
/// reload as `knockd reload` does (SIGHUP queued with a token), and
/// returns the answer it wrote. The sniffer takes any reconfigure.
knock::ReloadAnswer AskForReload(World* w, const std::string& extra,
                                 knock::ReloadAnswer* in_runtime = nullptr) {
  auto helper = w->StartHelper(AcceptEveryReconfigure);
  helper->Step(kStepWaitMs);
  w->WriteConfig(extra);
  sigval value{};
  value.sival_int = 4242;
  REQUIRE(sigqueue(getpid(), SIGHUP, value) == 0);
  knock::ReloadAnswer answer;
  const std::string state_dir = w->dir + "/state";
  CHECK(StepUntil(helper.get(),
                  [&] { return knock::ReadReloadAnswer(state_dir, &answer); }));
  CHECK(answer.request == knock::ReloadRequest{getpid(), 4242});
  const knock::DaemonFiles runtime =
      knock::RuntimeDaemonFiles(w->runtime_dir(), w->config_path());
  if (in_runtime != nullptr)
    CHECK(knock::ReadReloadAnswerFile(runtime.answer, in_runtime));
  CHECK_FALSE(helper->stopping());
  CHECK(helper->Finish() == 0);
  // The answers go with the daemon.
  CHECK(access(runtime.answer.c_str(), F_OK) != 0);
  return answer;
}

}  // namespace

TEST_CASE("a reload that needs a restart is refused, and the asker is told",
          "[helper]") {
  World w;
  const knock::ReloadAnswer answer = AskForReload(&w, "protocol = \"udp\"");
  const std::string refusal =
      "reload refused, keeping the running configuration: knock.protocol "
      "(\"tcp\" -> \"udp\") takes effect on restart only (systemctl restart "
      "knockd)";
  CHECK(w.Logged(refusal));
  CHECK_FALSE(answer.accepted);
  CHECK(answer.message == refusal);
}

TEST_CASE(
    "a reload that moves state_dir is refused, and answered where the "
    "running daemon's files are",
    "[helper]") {
  World w;
  w.state_subdir = "moved";
  knock::ReloadAnswer in_runtime;
  const knock::ReloadAnswer answer = AskForReload(&w, "", &in_runtime);
  const std::string refusal =
      "reload refused, keeping the running configuration: state_dir (\"" +
      w.dir + "/state\" -> \"" + w.dir +
      "/moved\") takes effect on restart only (systemctl restart knockd)";
  CHECK_FALSE(answer.accepted);
  CHECK(answer.message == refusal);
  // The same answer where `knockd reload` looks first: the runtime file
  // named by the configuration file, which no edit moves.
  CHECK(in_runtime.message == refusal);
  // Control: nothing was written under the edited state_dir.
  CHECK(access((w.dir + "/moved").c_str(), F_OK) != 0);
}

TEST_CASE("the helper's pid file is in its runtime directory and state_dir",
          "[helper]") {
  World w;
  // A killed earlier run's answer, with a start time from before a reboot:
  // it must not stand for an answer of this run.
  REQUIRE(mkdir((w.dir + "/state").c_str(), 0700) == 0);
  std::string write_err;
  REQUIRE(knock::WriteReloadAnswersFile(
      w.dir + "/state/knockd.reload",
      {{{1, 2}, true, "reloaded before", INT64_MAX}}, &write_err));
  auto helper =
      w.StartHelper([](FakeSniffer* s) { return s->WaitForShutdown(); });
  CHECK(access((w.dir + "/state/knockd.reload").c_str(), F_OK) != 0);
  const std::string runtime_pid =
      knock::RuntimeDaemonFiles(w.runtime_dir(), w.config_path()).pid;
  for (const std::string& path : {runtime_pid, w.dir + "/state/knockd.pid"}) {
    INFO(path);
    std::ifstream in(path);
    std::string pid;
    CHECK(std::getline(in, pid));
    CHECK(pid == std::to_string(getpid()));
  }
  CHECK(helper->Finish() == 0);
  CHECK(access(runtime_pid.c_str(), F_OK) != 0);
}

TEST_CASE("control: a reload without such a change is taken, and told so",
          "[helper]") {
  World w;
  const knock::ReloadAnswer answer = AskForReload(&w, "slack = 4");
  CHECK(answer.accepted);
  CHECK(answer.message == "reloaded " + w.config_path() + ": 2 clients");
  CHECK_FALSE(w.Logged("reload refused"));
}

TEST_CASE("refusal summaries count every refusal in the metrics file",
          "[helper]") {
  World w;
  const std::string metrics = w.dir + "/knockd.prom";
  // metrics_file is a top-level key: first in the file.
  std::stringstream config;
  config << "metrics_file = \"" << metrics << "\"\n"
         << std::ifstream(w.config_path()).rdbuf();
  std::ofstream(w.config_path()) << config.str();
  knock::RefusalSummary replays;
  replays.verdict = knock::Verdict::kReplay;
  replays.owner = {0, 0, w.Window(), 0};
  replays.first_source = Address("198.18.0.2");
  replays.second = kStartSeconds;
  replays.count = 7;
  replays.sources = 2;
  replays.addresses = {Address("198.18.0.3"), Address("198.18.0.4")};
  knock::RefusalSummary expired = replays;
  expired.verdict = knock::Verdict::kExpiredWindow;
  expired.count = 3;
  auto helper = w.StartHelper([&](FakeSniffer* s) {
    s->Send(knock::EncodeRefusalSummary(replays));
    s->Send(knock::EncodeRefusalSummary(expired));
    return s->WaitForShutdown();
  });
  CHECK(StepUntil(helper.get(), [&] {
    return w.Logged("refused 3 expired_window of client alice");
  }));
  CHECK(helper->Finish() == 0);
  std::ifstream in(metrics);
  std::stringstream text;
  text << in.rdbuf();
  CHECK(text.str().find("\nknockd_replays_total 7\n") != std::string::npos);
  CHECK(text.str().find("\nknockd_expired_total 3\n") != std::string::npos);
}

TEST_CASE(
    "require_bound refuses unbound grants; a bound one opens only for "
    "its address, and a raced copy does not use it up",
    "[helper][bound]") {
  World w;
  // bob is the last table: he requires bound sequences (and so allows them).
  std::ofstream(w.config_path(), std::ios::app) << "require_bound = true\n";
  const uint64_t window = w.Window();
  knock::PairKey bob_key;
  std::string err;
  REQUIRE(knock::DerivePairKey(w.bob, w.server.Public(),
                               knock::PairRole::kClient, &bob_key, &err));
  knock::BoundSequence bound;
  REQUIRE(knock::DeriveBoundSequence(bob_key, {window, 1, "ssh"},
                                     {16384, 16384, 8}, Address("198.18.0.8"),
                                     &bound, &err));
  // The sniffer's evidence: the head, then the source's other knocks.
  std::vector<uint16_t> evidence = bound.head;
  evidence.insert(evidence.end(), bound.tail.begin(), bound.tail.end());
  const knock::SequenceOwner bound_owner{1, 0, window, 1, true};
  auto helper = w.StartHelper([&](FakeSniffer* s) {
    s->Send(GrantMessage("198.18.0.7", 1, window, 0, w.Sent(w.bob, window, 0)));
    // A racer sends bob's bound knocks first, from its own address.
    s->Send(knock::EncodeGrant(Address("198.18.0.9"), bound_owner, 30000,
                               evidence));
    s->Send(knock::EncodeGrant(Address("198.18.0.8"), bound_owner, 30000,
                               evidence));
    // Control: alice requires nothing, her unbound sequence opens.
    s->Send(
        GrantMessage("198.18.0.6", 0, window, 0, w.Sent(w.alice, window, 0)));
    return s->WaitForShutdown();
  });
  CHECK(
      StepUntil(helper.get(), [&] { return w.firewall->opened.size() == 2; }));
  CHECK_FALSE(helper->stopping());
  REQUIRE(w.firewall->opened.size() == 2);
  CHECK(w.firewall->opened[0].source == Address("198.18.0.8"));
  CHECK(w.firewall->opened[1].source == Address("198.18.0.6"));
  const std::string at = " (window " + std::to_string(window);
  CHECK(
      w.Logged("firewall helper refused a grant: client bob service ssh "
               "from 198.18.0.7" +
               at +
               " slot 0): client bob must knock bound for ssh "
               "(require_bound)"));
  CHECK(
      w.Logged("firewall helper refused a grant: client bob service ssh "
               "from 198.18.0.9" +
               at +
               " slot 1): the sequence is bound to another address "
               "than 198.18.0.9"));
  CHECK(w.Logged("granted client bob service ssh from 198.18.0.8" + at +
                 " slot 1) ports "));
  CHECK(helper->Finish() == 0);
}
