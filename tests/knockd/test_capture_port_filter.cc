// The capture filter as the sniffer runs it: tables as the helper makes
// them (windows_ahead 1, a table half a second after each roll), the
// sniffer's loop waking at each change of the filter 50 ms late (and at
// least once a second), the filter's program run by the kernel (attached
// to a socket pair) on every frame before the live pipeline sees it. A
// knock for the window that goes live at a roll, sent just after it, and
// sequences spanning a roll still complete; the filter swaps twice a step,
// and passes both tables during a reload.
#include <pcap/dlt.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <limits>
#include <set>

#include "knockd/client_sequence.h"
#include "knockd/shared/sequence_table.h"
#include "knockd/sniffer/capture_port_filter.h"
#include "knockd/sniffer/knock_pipeline.h"
#include "knockd/sniffer/pcap_writer.h"

namespace {

constexpr int64_t kSecondUs = 1000000;
constexpr int64_t kMsUs = 1000;
constexpr int64_t kStepUs = 30 * kSecondUs;
constexpr uint64_t kWindow = 60000000;  // window c, where the tests start
constexpr int64_t kRollUs = static_cast<int64_t>(kWindow) * kStepUs;  // c's
constexpr int64_t kNextRollUs = kRollUs + kStepUs;                    // c + 1's
constexpr int64_t kGraceUs = 10 * kSecondUs;  // seq_timeout's default
// The sniffer's loop wakes this long after the change it waited for.
constexpr int64_t kWakeLateUs = 50 * kMsUs;
// The helper's table of a window arrives this long after its roll.
constexpr int64_t kHelperLateUs = 500 * kMsUs;
// Where the tests start: the loop's 1 s ticks fall 300 ms after each
// second, never on a roll.
constexpr int64_t kStart = kRollUs + 5300 * kMsUs;

knock::IpAddress Addr(const char* text) {
  knock::IpAddress address;
  std::string err;
  REQUIRE(knock::IpAddress::Parse(text, &address, &err));
  return address;
}

/// A capture whose kernel filter is real: the program attached to the
/// receiving end of an AF_UNIX datagram pair, which drops what it refuses.
class KernelSource : public knock::PacketSource {
 public:
  KernelSource() { REQUIRE(socketpair(AF_UNIX, SOCK_DGRAM, 0, fds_) == 0); }
  ~KernelSource() override {
    close(fds_[0]);
    close(fds_[1]);
  }
  std::vector<int> PollFds() const override { return {}; }
  bool Dispatch(const FrameHandler&, std::string*) override { return false; }
  knock::CaptureStats Stats() const override { return {}; }
  bool SetPortFilter(const knock::PortFilterSpec& spec,
                     std::string* err) override {
    const knock::PortFilterProgram program = knock::BuildPortFilterProgram(
        spec, knock::FilterView::kEthernet, 0xffff);
    sock_fprog fprog{static_cast<unsigned short>(program.code.size()),
                     const_cast<sock_filter*>(program.code.data())};
    if (setsockopt(fds_[1], SOL_SOCKET, SO_ATTACH_FILTER, &fprog,
                   sizeof fprog) != 0) {
      *err = "SO_ATTACH_FILTER failed";
      return false;
    }
    ++installs;
    return true;
  }
  bool Passes(const std::vector<uint8_t>& frame) {
    REQUIRE(send(fds_[0], frame.data(), frame.size(), 0) ==
            static_cast<ssize_t>(frame.size()));
    uint8_t buffer[2048];
    return recv(fds_[1], buffer, sizeof buffer, MSG_DONTWAIT) > 0;
  }
  int installs = 0;

 private:
  int fds_[2] = {-1, -1};
};

/// A firewall that records what it opened.
class RecordingFirewall : public knock::Firewall {
 public:
  bool Setup(const knock::FirewallLayout&, std::string*) override {
    return true;
  }
  bool Open(const knock::Grant& grant, std::string*) override {
    grants.push_back(grant);
    return true;
  }
  bool Flush(std::string*) override { return true; }
  const char* Name() const override { return "recording"; }
  std::vector<knock::Grant> grants;
};

knock::ServerConfig ConfigFor(const knock::PublicKey& client) {
  knock::ServerConfig config;
  config.services = {{"ssh", {{knock::Transport::kTcp, 22}}, 15000}};
  config.clients = {{"alice", client, {"ssh"}}};
  return config;
}

/// Who knocks for which window and slot.
struct Sender {
  uint64_t window = 0;
  uint8_t slot = 0;
  const char* source = "198.18.0.2";
};

/// The helper's side (its keyed table, a step ahead), the sniffer's
/// filter and pipeline, and the clock that drives them.
struct World {
  knock::PrivateKey server_key = knock::PrivateKey::Generate();
  knock::PrivateKey alice_key = knock::PrivateKey::Generate();
  knock::ServerConfig config = ConfigFor(alice_key.Public());
  RecordingFirewall firewall;
  knock::ReplayStore store;
  knock::Logger logger;
  knock::SequenceTable helper;
  KernelSource kernel;
  knock::CapturePortFilter filter{&kernel, true};
  std::unique_ptr<knock::KnockPipeline> pipeline;
  std::vector<knock::KnockOutcome> events;
  int64_t now_us = 0;
  int64_t last_tick_us = 0;
  uint64_t helper_window = 0;
  uint64_t knocks_passed = 0;

  explicit World(int64_t start_us) : now_us(start_us) {
    logger.set_min_level(knock::LogLevel::kError);
    std::string err;
    helper.set_windows_ahead(1);
    helper.set_indexed(false);
    REQUIRE(helper.Init(config, server_key, &err));
    pipeline = std::make_unique<knock::KnockPipeline>(&config, &firewall,
                                                      &store, &logger, 1);
    pipeline->set_log_grants(false);
    pipeline->set_event_handler(
        [this](const knock::KnockOutcome& e) { events.push_back(e); });
    helper_window = static_cast<uint64_t>(start_us / kStepUs);
    SendTable();
    pipeline->set_live_clock(true);
    Tick();
  }
  /// The helper's table for helper_window, taken as the sniffer takes it.
  void SendTable() {
    helper.RollTo(helper_window);
    const knock::SequenceTableImage image = helper.Image();
    std::string err;
    REQUIRE(filter.TakeTable(image, config.knock, now_us, &err));
    REQUIRE(pipeline->LoadTable(image, &err));
  }
  /// One pass of the sniffer's loop.
  void Tick() {
    std::string err;
    REQUIRE(filter.OnTimer(
        filter.FollowedClockUs(now_us, pipeline->stats().clock_steps), &err));
    pipeline->OnClock(now_us, now_us);
    last_tick_us = now_us;
  }
  /// Runs the loop and the helper's tables up to `until_us`.
  void RunUntil(int64_t until_us) {
    REQUIRE(until_us >= now_us);
    for (;;) {
      const int64_t tick =
          std::min(last_tick_us + kSecondUs,
                   filter.NextChangeUs(last_tick_us) + kWakeLateUs);
      const int64_t table =
          static_cast<int64_t>(helper_window + 1) * kStepUs + kHelperLateUs;
      const int64_t next = std::min(tick, table);
      if (next > until_us) break;
      now_us = next;
      if (next == table) {
        ++helper_window;
        SendTable();
      } else {
        Tick();
      }
    }
    now_us = until_us;
  }
  /// alice's sequences for `senders` side by side, their knocks `gap_us`
  /// apart from `from_us`, through the kernel's filter to the pipeline.
  void Knock(const std::vector<Sender>& senders, int64_t from_us,
             int64_t gap_us) {
    std::vector<std::vector<uint16_t>> sequences;
    for (const Sender& sender : senders)
      sequences.push_back(ClientSequence(alice_key, server_key.Public(),
                                         {sender.window, sender.slot, "ssh"}));
    int64_t t = from_us;
    for (size_t k = 0; k < sequences[0].size(); ++k, t += gap_us) {
      RunUntil(t);
      for (size_t i = 0; i < senders.size(); ++i) {
        const std::vector<uint8_t> frame =
            knock::BuildTcpSynFrame(Addr(senders[i].source), Addr("198.18.0.1"),
                                    40000, sequences[i][k], DLT_EN10MB);
        if (!kernel.Passes(frame)) continue;
        ++knocks_passed;
        pipeline->OnFrame(
            {DLT_EN10MB, frame.data(), static_cast<uint32_t>(frame.size()), t});
      }
    }
  }
  void Knock(uint64_t window, uint8_t slot, int64_t from_us, int64_t gap_us,
             const char* source = "198.18.0.2") {
    Knock({{window, slot, source}}, from_us, gap_us);
  }
  size_t Verdicts(knock::Verdict verdict, uint64_t window) const {
    return std::count_if(events.begin(), events.end(), [&](const auto& e) {
      return e.match.verdict == verdict && e.match.owner.window == window;
    });
  }
};

}  // namespace

TEST_CASE(
    "a knock for the window that goes live at a roll passes just after "
    "it, and knocks just before a roll still open",
    "[capture_port_filter]") {
  World world(kStart);
  // Just before c + 1's roll: c (the client's own) and c − 1 (the oldest
  // live one, about to expire).
  world.Knock(kWindow, 0, kNextRollUs - 30 * kMsUs, kMsUs);
  world.Knock(kWindow - 1, 0, kNextRollUs - 20 * kMsUs, kMsUs, "198.18.0.3");
  // Just after it, before the helper's next table: c + 2, live from this
  // roll on (a client a step ahead).
  world.Knock(kWindow + 2, 0, kNextRollUs + 10 * kMsUs, kMsUs, "198.18.0.4");
  CHECK(world.knocks_passed == 24);
  CHECK(world.Verdicts(knock::Verdict::kGranted, kWindow) == 1);
  CHECK(world.Verdicts(knock::Verdict::kGranted, kWindow - 1) == 1);
  CHECK(world.Verdicts(knock::Verdict::kGranted, kWindow + 2) == 1);
  CHECK(world.firewall.grants.size() == 3);
}

TEST_CASE(
    "a sequence spanning a roll completes, and one for the window the roll "
    "expires is named expired",
    "[capture_port_filter]") {
  World world(kStart);
  // 8 knocks 100 ms apart, from 200 ms before c + 1's roll to 500 ms after.
  world.Knock({{kWindow, 1, "198.18.0.2"}, {kWindow - 1, 1, "198.18.0.3"}},
              kNextRollUs - 200 * kMsUs, 100 * kMsUs);
  CHECK(world.knocks_passed == 16);
  CHECK(world.Verdicts(knock::Verdict::kGranted, kWindow) == 1);
  CHECK(world.Verdicts(knock::Verdict::kExpiredWindow, kWindow - 1) == 1);
}

TEST_CASE(
    "an expired window's sequence after the grace stays in the kernel; "
    "within it, it is named",
    "[capture_port_filter]") {
  World world(kStart);
  // c − 1 expired at c + 1's roll: named until seq_timeout after it.
  world.Knock(kWindow - 1, 2, kNextRollUs + 2 * kSecondUs, kMsUs);
  CHECK(world.knocks_passed == 8);
  CHECK(world.Verdicts(knock::Verdict::kExpiredWindow, kWindow - 1) == 1);
  // Past the grace the matcher would still name it, but it never sees it.
  world.Knock(kWindow - 1, 3, kNextRollUs + kGraceUs + kSecondUs, kMsUs);
  // (A port may be one of a live window's too.)
  CHECK(world.knocks_passed < 8 + 4);
  CHECK(world.events.size() == 1);
}

TEST_CASE("the filter swaps twice a step, not at every table or tick",
          "[capture_port_filter]") {
  World world(kStart + 10 * kSecondUs);
  const int before = world.kernel.installs;
  world.RunUntil(kRollUs + 3 * kStepUs + 15 * kSecondUs);
  // Each step: the next window joins a second before the roll, the expired
  // one leaves 10 s after; the helper's tables change nothing then.
  CHECK(world.kernel.installs - before == 6);
}

TEST_CASE("during a reload both tables' windows pass; then only the one in use",
          "[capture_port_filter]") {
  World world(kStart + 10 * kSecondUs);
  const int64_t now = world.now_us;
  const knock::PrivateKey bob_key = knock::PrivateKey::Generate();
  const knock::ServerConfig reloaded = ConfigFor(bob_key.Public());
  knock::SequenceTable table;
  table.set_windows_ahead(1);
  std::string err;
  REQUIRE(table.Init(reloaded, world.server_key, &err));
  table.RollTo(kWindow);
  const knock::SequenceTableImage image = table.Image();
  knock::PortFilterWindows windows;
  windows.Take(image, reloaded.knock);
  const knock::PortFilterSpec running = world.filter.installed();
  const knock::PortFilterSpec next = windows.SpecAt(now);
  REQUIRE_FALSE(running == next);

  for (bool taken : {true, false}) {
    REQUIRE(world.filter.TakeTable(world.helper.Image(), world.config.knock,
                                   now, &err));
    REQUIRE(world.filter.installed() == running);
    REQUIRE(world.filter.BeginReload(image, reloaded.knock, now, &err));
    CHECK(world.filter.installed() == knock::UnionOf(running, next));
    // The union follows time too while the reload is pending.
    REQUIRE(world.filter.OnTimer(now + kSecondUs, &err));
    CHECK(world.filter.installed() == knock::UnionOf(running, next));
    REQUIRE(world.filter.EndReload(taken, now, &err));
    CHECK(world.filter.installed() == (taken ? next : running));
  }
}

TEST_CASE("a disabled filter installs nothing", "[capture_port_filter]") {
  KernelSource kernel;
  knock::CapturePortFilter filter(&kernel, false);
  knock::SequenceTableImage image;
  image.first_port = 16384;
  image.range_size = 16384;
  image.count = 8;
  image.oldest_window = kWindow - 2;
  image.window_count = 5;
  std::string err;
  CHECK(filter.TakeTable(image, knock::KnockSettings(), kRollUs, &err));
  CHECK(filter.BeginReload(image, knock::KnockSettings(), kRollUs, &err));
  CHECK(filter.EndReload(true, kRollUs, &err));
  CHECK(filter.OnTimer(kRollUs + kStepUs, &err));
  CHECK(kernel.installs == 0);
  CHECK(filter.NextChangeUs(kRollUs) == std::numeric_limits<int64_t>::max());
}

TEST_CASE(
    "a clock past every held window installs a filter that passes nothing",
    "[capture_port_filter]") {
  // The wall clock stepped an hour ahead before the helper's next table:
  // the image holds no window usable then, and the (empty) filter must
  // still install, or the sniffer would stop.
  World world(kStart);
  const int before = world.kernel.installs;
  std::string err;
  REQUIRE(world.filter.OnTimer(kStart + 3600 * kSecondUs, &err));
  CHECK(world.kernel.installs == before + 1);
  CHECK(world.filter.installed().ports.empty());
  CHECK_FALSE(world.kernel.Passes(knock::BuildTcpSynFrame(
      Addr("198.18.0.2"), Addr("198.18.0.1"), 40000, 20000, DLT_EN10MB)));
  // Back in the image's windows (the helper's table), it passes them again.
  REQUIRE(world.filter.OnTimer(kStart, &err));
  CHECK_FALSE(world.filter.installed().ports.empty());
}

TEST_CASE(
    "a step back of the wall clock shorter than a step keeps the windows the "
    "matcher still accepts",
    "[capture_port_filter]") {
  // Three seconds after c + 1's roll the clock steps back ten: less than a
  // step, so the pipeline takes it for no step and keeps accepting up to
  // c + 2, which the filter must keep passing.
  World world(kNextRollUs + 3 * kSecondUs);
  world.now_us = kNextRollUs - 7 * kSecondUs;
  world.last_tick_us = world.now_us;
  world.Tick();
  world.Knock(kWindow + 2, 0, world.now_us + 10 * kMsUs, kMsUs);
  CHECK(world.knocks_passed == 8);
  CHECK(world.Verdicts(knock::Verdict::kGranted, kWindow + 2) == 1);
  CHECK(world.pipeline->stats().clock_steps == 0);
}
