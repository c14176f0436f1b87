// Which windows of a table image the capture filter passes, as a function
// of time: the live ones always, the next one from lead before its roll,
// the expired one until grace after the roll that expired it; and how many
// ports of the range that passes at 1, 100 and 300 clients.
#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <set>

#include "knockd/sniffer/port_filter_windows.h"

namespace {

using knock::KnockProtocol;
using knock::PortFilterWindows;
using knock::WindowSpan;

constexpr int64_t kSecondUs = 1000000;
constexpr int64_t kStepUs = 30 * kSecondUs;
constexpr uint64_t kWindow = 60000000;  // window c of the image
constexpr int64_t kRollUs = static_cast<int64_t>(kWindow) * kStepUs;  // c's

/// An image as the helper makes it at window kWindow (skew 1): the windows
/// c − 2 … c + 2, `clients` × 4 slots of 8 random ports each.
knock::SequenceTableImage Image(uint32_t clients, uint32_t seed) {
  knock::SequenceTableImage image;
  image.first_port = 16384;
  image.range_size = 16384;
  image.count = 8;
  image.skew = 1;
  image.center_window = kWindow;
  image.oldest_window = kWindow - 2;
  image.window_count = 5;
  for (uint32_t client = 0; client < clients; ++client)
    for (uint8_t slot = 0; slot < 4; ++slot)
      image.owners.push_back({client, 0, slot});
  std::mt19937 random(seed);
  for (size_t i = 0; i < 5 * image.owners.size() * image.count; ++i)
    image.ports.push_back(static_cast<uint16_t>(16384 + random() % 16384));
  return image;
}

knock::KnockSettings Defaults() { return knock::KnockSettings(); }

PortFilterWindows WindowsOf(const knock::SequenceTableImage& image,
                            const knock::KnockSettings& knock = Defaults()) {
  PortFilterWindows windows;
  windows.Take(image, knock);
  return windows;
}

/// The ports of windows [first, end) of `image`, counted directly.
std::set<uint16_t> PortsOf(const knock::SequenceTableImage& image,
                           uint64_t first, uint64_t end) {
  const size_t per_window = image.owners.size() * image.count;
  std::set<uint16_t> ports;
  for (uint64_t w = first; w < end; ++w) {
    const size_t block = (w - image.oldest_window) * per_window;
    ports.insert(image.ports.begin() + block,
                 image.ports.begin() + block + per_window);
  }
  return ports;
}

}  // namespace

TEST_CASE("the margins: a second of lead, seq_timeout of grace, at most a step",
          "[port_filter_windows]") {
  knock::KnockSettings knock;
  CHECK(knock::FilterMarginsOf(knock).lead_us == kSecondUs);
  CHECK(knock::FilterMarginsOf(knock).grace_us == 10 * kSecondUs);
  knock.seq_timeout_ms = 30000;
  knock.step_seconds = 20;
  CHECK(knock::FilterMarginsOf(knock).grace_us == 20 * kSecondUs);
}

TEST_CASE(
    "the live windows always pass, the next one from lead before its roll, "
    "the expired one until grace after",
    "[port_filter_windows]") {
  const knock::SequenceTableImage image = Image(3, 1);
  const PortFilterWindows windows = WindowsOf(image);
  const int64_t lead = kSecondUs;
  const int64_t grace = 10 * kSecondUs;
  const int64_t next_roll = kRollUs + kStepUs;
  // Every 10 ms of the window: the live ones c − 1 … c + 1 are there.
  for (int64_t t = kRollUs; t < next_roll; t += 10000) {
    const WindowSpan span = windows.WindowsAt(t);
    INFO("at roll + " << (t - kRollUs) << " us");
    REQUIRE(span.first <= kWindow - 1);
    REQUIRE(span.end >= kWindow + 2);
    // Never more than one window beside them with these margins.
    REQUIRE(span.end - span.first <= 4);
  }
  // The expired one (c − 2, expired at c's roll), until grace after it.
  CHECK(windows.WindowsAt(kRollUs).first == kWindow - 2);
  CHECK(windows.WindowsAt(kRollUs + grace - 1).first == kWindow - 2);
  CHECK(windows.WindowsAt(kRollUs + grace).first == kWindow - 1);
  // The next one (c + 2, live from c + 1's roll), from lead before it.
  CHECK(windows.WindowsAt(next_roll - lead - 1).end == kWindow + 2);
  CHECK(windows.WindowsAt(next_roll - lead).end == kWindow + 3);
  CHECK(windows.WindowsAt(next_roll - 1).end == kWindow + 3);
  // Exactly their ports.
  const std::set<uint16_t> live = PortsOf(image, kWindow - 1, kWindow + 2);
  CHECK(windows.SpecAt(kRollUs + grace + kSecondUs).ports ==
        std::vector<uint16_t>(live.begin(), live.end()));
  const std::set<uint16_t> early = PortsOf(image, kWindow - 2, kWindow + 2);
  CHECK(windows.SpecAt(kRollUs + kSecondUs).ports ==
        std::vector<uint16_t>(early.begin(), early.end()));
  const std::set<uint16_t> late = PortsOf(image, kWindow - 1, kWindow + 3);
  CHECK(windows.SpecAt(next_roll - kSecondUs / 2).ports ==
        std::vector<uint16_t>(late.begin(), late.end()));
}

TEST_CASE("only the windows the image holds pass", "[port_filter_windows]") {
  const PortFilterWindows windows = WindowsOf(Image(3, 2));
  // Two steps on, the image (held c − 2 … c + 2) reaches only c + 2.
  CHECK(windows.WindowsAt(kRollUs + 2 * kStepUs + 20 * kSecondUs) ==
        WindowSpan{kWindow + 1, kWindow + 3});
  CHECK(windows.WindowsAt(kRollUs + 10 * kStepUs) == WindowSpan{});
  CHECK(windows.SpecAt(kRollUs + 10 * kStepUs).ports.empty());
  CHECK(PortFilterWindows().WindowsAt(kRollUs) == WindowSpan{});
}

TEST_CASE("every held window gives the whole image's spec",
          "[port_filter_windows]") {
  knock::SequenceTableImage image = Image(20, 3);
  // Every port the image holds, sorted and once each.
  const std::set<uint16_t> held(image.ports.begin(), image.ports.end());
  for (KnockProtocol protocol :
       {KnockProtocol::kTcp, KnockProtocol::kUdp, KnockProtocol::kBoth}) {
    knock::KnockSettings knock;
    knock.protocol = protocol;
    const knock::PortFilterSpec spec =
        WindowsOf(image, knock).SpecOf({kWindow - 2, kWindow + 3});
    CHECK(spec.ports == std::vector<uint16_t>(held.begin(), held.end()));
    CHECK(spec.tcp == (protocol != KnockProtocol::kUdp));
    CHECK(spec.udp == (protocol != KnockProtocol::kTcp));
    CHECK(spec == knock::PortFilterSpecOf(image, protocol));
  }
  // A bound owner: the whole range, whatever the time.
  image.owners[5].bound = true;
  const knock::PortFilterSpec spec =
      WindowsOf(image).SpecAt(kRollUs + 20 * kSecondUs);
  CHECK(spec == knock::PortFilterSpecOf(image, KnockProtocol::kTcp));
  CHECK(spec.ports.size() == 16384);
  CHECK(spec.ports.front() == image.first_port);
  CHECK(spec.ports.back() == image.first_port + 16383);
}

TEST_CASE("the next change is the end of grace or the start of lead",
          "[port_filter_windows]") {
  const PortFilterWindows windows = WindowsOf(Image(3, 4));
  const int64_t grace_end = kRollUs + 10 * kSecondUs;
  const int64_t lead_start = kRollUs + kStepUs - kSecondUs;
  CHECK(windows.NextChangeUs(kRollUs) == grace_end);
  CHECK(windows.NextChangeUs(grace_end - 1) == grace_end);
  CHECK(windows.NextChangeUs(grace_end) == lead_start);
  CHECK(windows.NextChangeUs(lead_start) == kRollUs + kStepUs + 10 * kSecondUs);
  // Nothing changes in between.
  for (int64_t t = grace_end; t < lead_start; t += 100000)
    REQUIRE(windows.WindowsAt(t) == windows.WindowsAt(grace_end));
  CHECK_FALSE(windows.WindowsAt(lead_start) == windows.WindowsAt(grace_end));
}

TEST_CASE("the ports passed shrink from five windows to three and a fraction",
          "[port_filter_windows]") {
  // The defaults (step 30 s, skew 1, 4 slots of 8 knocks, seq_timeout
  // 10 s): each window is 32 draws a client over 16,384 ports. The image
  // holds 5 windows; the filter passes 3, plus the expired one for the
  // first 10 s of a step and the next one for its last second.
  for (uint32_t clients : {1u, 100u, 300u}) {
    const knock::SequenceTableImage image = Image(clients, 5);
    const PortFilterWindows windows = WindowsOf(image);
    const size_t all = windows.SpecOf({kWindow - 2, kWindow + 3}).ports.size();
    const size_t live = windows.SpecAt(kRollUs + 20 * kSecondUs).ports.size();
    const size_t with_expired = windows.SpecAt(kRollUs).ports.size();
    const size_t with_next =
        windows.SpecAt(kRollUs + kStepUs - kSecondUs / 2).ports.size();
    double average = 0;
    for (int64_t t = kRollUs; t < kRollUs + kStepUs; t += 100000)
      average += windows.SpecAt(t).ports.size();
    average /= kStepUs / 100000;
    // Uniform draws: 16,384 · (1 − e^(−draws/16,384)) distinct ports.
    auto expected = [](double windows_passed, uint32_t n) {
      return 16384 * (1 - std::exp(-32.0 * n * windows_passed / 16384));
    };
    INFO(clients << " clients: all " << all << " live " << live
                 << " with expired " << with_expired << " with next "
                 << with_next << " average " << average);
    CHECK(live < with_expired);
    CHECK(live < with_next);
    CHECK(with_expired < all);
    CHECK(std::abs(all - expected(5, clients)) < 0.03 * expected(5, clients));
    CHECK(std::abs(live - expected(3, clients)) < 0.03 * expected(3, clients));
    const double fraction = 3 + 10.0 / 30 + 1.0 / 30;
    CHECK(std::abs(average - expected(fraction, clients)) <
          0.03 * expected(fraction, clients));
    if (clients == 100) {
      // 16,000 draws: about 10,200 ports of five windows, 7,900 of the
      // three live ones.
      CHECK(all > 9900);
      CHECK(live < 8200);
    }
  }
}
