// The capture filter as the sniffer runs it: tables as the helper makes
// them (windows_ahead 1, a table half a second after each roll), the
// sniffer's loop waking at each change of the filter 50 ms late (and at
// least once a second), the filter's program run by the kernel (attached
// to a socket pair) on every frame before the live pipeline sees it. A
// knock for the window that goes live at a roll, sent just after it, and
// sequences spanning a roll still complete; the filter swaps twice a step,
// and passes both tables during a reload. A swap the kernel refuses falls
// back to the whole knock range and is retried a second later.
#include <pcap/dlt.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <functional>
#include <limits>
#include <set>

#include "capture_stderr.h"
#include "knockd/client_sequence.h"
#include "knockd/shared/sequence_table.h"
#include "knockd/sniffer/capture_port_filter.h"
#include "knockd/sniffer/knock_pipeline.h"
#include "knockd/sniffer/pcap_writer.h"
#include "scoped_env.h"

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
  bool DispatchAtMost(const FrameHandler&, uint32_t, bool*,
                      std::string*) override {
    return false;
  }
  knock::CaptureStats Stats() const override { return {}; }
  bool SetPortFilter(const knock::PortFilterSpec& spec,
                     std::string* err) override {
    ++attempts;
    if (refuse) {
      *err = refuse(spec);
      if (!err->empty()) return false;
    }
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
  /// Every SetPortFilter, refused or not.
  int attempts = 0;
  /// When set, the error a swap to `spec` fails with (empty: it installs),
  /// as a transient setsockopt error would.
  std::function<std::string(const knock::PortFilterSpec&)> refuse;

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
  knock::CapturePortFilter filter{&kernel, true, &logger};
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
  knock::Logger logger;
  knock::CapturePortFilter filter(&kernel, false, &logger);
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

namespace {

constexpr char kRefused[] =
    "cannot install the port filter on \"eth0\": "
    "Cannot allocate memory";
constexpr uint16_t kFirstPort = 16384;  // the default knock range
constexpr uint32_t kRangePorts = 16384;

/// The kernel refusing every program but the whole range's with `error`.
std::function<std::string(const knock::PortFilterSpec&)> RefuseExact(
    const std::string& error) {
  return [error](const knock::PortFilterSpec& spec) {
    return spec.ports.size() == kRangePorts ? std::string() : error;
  };
}

/// How many ports of the range the kernel's filter passes (TCP SYNs).
uint32_t PortsPassed(World* world) {
  uint32_t passed = 0;
  for (uint32_t i = 0; i < kRangePorts; ++i)
    passed += world->kernel.Passes(knock::BuildTcpSynFrame(
        Addr("198.18.0.9"), Addr("198.18.0.1"), 40000,
        static_cast<uint16_t>(kFirstPort + i), DLT_EN10MB));
  return passed;
}

}  // namespace

TEST_CASE(
    "a refused swap passes the whole knock range, knocks still open, and the "
    "exact filter is retried a second later, not at every wake-up",
    "[capture_port_filter]") {
  ScopedEnv env("JOURNAL_STREAM", nullptr);
  World world(kStart);
  world.logger.set_min_level(knock::LogLevel::kInfo);
  // The swap a second before c + 1's roll (it adds c + 2) is refused.
  const int64_t swap_us = kNextRollUs - kSecondUs + kWakeLateUs;
  world.RunUntil(swap_us - 100 * kMsUs);
  world.kernel.refuse = RefuseExact(kRefused);
  std::string log = CaptureStderr([&] { world.RunUntil(swap_us); });
  CHECK(log ==
        "knockd: warning: capture filter: the exact filter was refused "
        "(\"cannot install the port filter on \"eth0\": Cannot allocate "
        "memory\"); the whole knock range passes until it installs, tried "
        "again within 1 s\n");
  CHECK(world.filter.degraded());
  CHECK(world.filter.failed_swaps() == 1);
  CHECK(world.filter.installed().ports.size() == kRangePorts);
  CHECK(PortsPassed(&world) == kRangePorts);
  CHECK(world.filter.NextChangeUs(swap_us) ==
        swap_us + knock::CapturePortFilter::kSwapRetryUs);
  // Wake-ups before the retry try nothing.
  const int attempts = world.kernel.attempts;
  for (int64_t t = swap_us + 100 * kMsUs; t < swap_us + kSecondUs;
       t += 100 * kMsUs) {
    world.now_us = t;
    world.Tick();
  }
  CHECK(world.kernel.attempts == attempts);

  // Knocks for c + 2 just after the roll, and the retry (refused again,
  // the same error: not logged again) in between.
  log = CaptureStderr([&] {
    world.Knock(kWindow + 2, 0, kNextRollUs + 10 * kMsUs, 30 * kMsUs);
  });
  CHECK(log == "");
  CHECK(world.filter.failed_swaps() == 2);
  CHECK(world.knocks_passed == 8);
  CHECK(world.Verdicts(knock::Verdict::kGranted, kWindow + 2) == 1);

  // Another error is logged; once the kernel takes the exact filter again,
  // that is logged too, and the rest of the range stays out again.
  world.kernel.refuse = RefuseExact("another error");
  log = CaptureStderr([&] { world.RunUntil(world.now_us + kSecondUs); });
  CHECK(log ==
        "knockd: warning: capture filter: the exact filter was refused "
        "(\"another error\"); the whole knock range passes until it "
        "installs, tried again within 1 s\n");
  world.kernel.refuse = nullptr;
  log = CaptureStderr([&] { world.RunUntil(world.now_us + kSecondUs); });
  CHECK(log ==
        "knockd: info: capture filter: the exact filter is installed again\n");
  CHECK_FALSE(world.filter.degraded());
  CHECK(world.filter.failed_swaps() == 3);
  CHECK(world.filter.installed() == [&] {
    knock::PortFilterWindows windows;
    windows.Take(world.helper.Image(), world.config.knock);
    return windows.SpecAt(world.now_us);
  }());
  CHECK(PortsPassed(&world) == world.filter.installed().ports.size());
}

TEST_CASE(
    "a table and a reload whose exact filter is refused are still taken, "
    "with the whole range of both",
    "[capture_port_filter]") {
  ScopedEnv env("JOURNAL_STREAM", nullptr);
  World world(kStart);
  world.kernel.refuse = RefuseExact(kRefused);
  std::string err;
  ++world.helper_window;
  world.helper.RollTo(world.helper_window);
  CHECK(world.filter.TakeTable(world.helper.Image(), world.config.knock,
                               world.now_us, &err));
  CHECK(world.filter.installed().ports.size() == kRangePorts);
  // Were a reload to change the range (the helper refuses that today, the
  // capture cannot change), both ranges would pass until it is decided,
  // then the new one alone. (Exact filters are a few dozen ports.)
  knock::ServerConfig reloaded = world.config;
  reloaded.knock.ports = {40000, 40999};
  knock::SequenceTable table;
  REQUIRE(table.Init(reloaded, world.server_key, &err));
  table.RollTo(kWindow);
  world.kernel.refuse = [](const knock::PortFilterSpec& spec) {
    return spec.ports.size() < 1000 ? kRefused : "";
  };
  CHECK(world.filter.BeginReload(table.Image(), reloaded.knock, world.now_us,
                                 &err));
  CHECK(world.filter.installed().ports.size() == kRangePorts + 1000);
  CHECK(world.filter.EndReload(true, world.now_us, &err));
  CHECK(world.filter.installed().ports.size() == 1000);
  CHECK(world.filter.installed().ports.front() == 40000);
  CHECK(world.filter.failed_swaps() == 3);
}

TEST_CASE(
    "a swap refused for the whole range too fails with both errors, as "
    "before",
    "[capture_port_filter]") {
  World world(kStart);
  world.kernel.refuse = [](const knock::PortFilterSpec& spec) {
    return spec.ports.size() == kRangePorts ? "whole refused" : kRefused;
  };
  std::string err;
  CHECK_FALSE(world.filter.OnTimer(kNextRollUs - kSecondUs, &err));
  CHECK(err ==
        "cannot install the port filter on \"eth0\": Cannot allocate memory; "
        "the whole knock range was refused too: whole refused");
}
