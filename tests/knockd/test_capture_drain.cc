// One drain of the capture is bounded: under a flood that never lets the
// ring run dry, the sniffer's loop still comes back between chunks and
// swaps the capture filter when it is due, not after the flood.
#include <pcap/dlt.h>

#include <catch2/catch.hpp>
#include <vector>

#include "knockd/shared/sequence_table.h"
#include "knockd/sniffer/capture_drain.h"
#include "knockd/sniffer/capture_port_filter.h"
#include "knockd/sniffer/pcap_writer.h"

namespace {

constexpr int64_t kSecondUs = 1000000;
constexpr int64_t kMsUs = 1000;
constexpr int64_t kStepUs = 30 * kSecondUs;
constexpr uint64_t kWindow = 60000000;
constexpr int64_t kNextRollUs = static_cast<int64_t>(kWindow + 1) * kStepUs;
// The filter's lead before a roll: the swap that adds the next window.
constexpr int64_t kSwapDueUs = kNextRollUs - kSecondUs;
// A little more than the slowest matching measured (2,822 ns a frame).
constexpr int64_t kFrameCostUs = 3;
// Frames waiting: about 0.9 s of matching at that cost, most of the lead.
constexpr uint64_t kFloodFrames = 300000;

knock::IpAddress Addr(const char* text) {
  knock::IpAddress address;
  std::string err;
  REQUIRE(knock::IpAddress::Parse(text, &address, &err));
  return address;
}

/// A capture that always has more frames (SYNs to a port outside the knock
/// range) and honours the bound as pcap_dispatch does; each frame handed
/// over moves the clock on by kFrameCostUs, as matching it would.
class FloodSource : public knock::PacketSource {
 public:
  explicit FloodSource(int64_t* clock_us) : clock_us_(clock_us) {}
  std::vector<int> PollFds() const override { return {}; }
  bool DispatchAtMost(const FrameHandler& handler, uint32_t max_frames,
                      bool* cut, std::string*) override {
    const uint64_t n =
        max_frames == 0 ? remaining : std::min<uint64_t>(remaining, max_frames);
    for (uint64_t i = 0; i < n; ++i, *clock_us_ += kFrameCostUs)
      handler({DLT_EN10MB, frame_.data(), static_cast<uint32_t>(frame_.size()),
               *clock_us_});
    remaining -= n;
    *cut = max_frames != 0 && n == max_frames;
    return true;
  }
  knock::CaptureStats Stats() const override { return {}; }
  bool SetPortFilter(const knock::PortFilterSpec&, std::string*) override {
    swaps.push_back({*clock_us_, remaining});
    return true;
  }

  /// When a filter was installed, and how many frames were still waiting.
  struct Swap {
    int64_t at_us;
    uint64_t frames_waiting;
  };
  std::vector<Swap> swaps;
  uint64_t remaining = kFloodFrames;

 private:
  int64_t* clock_us_;
  std::vector<uint8_t> frame_ = knock::BuildTcpSynFrame(
      Addr("198.18.0.9"), Addr("198.18.0.1"), 40000, 80, DLT_EN10MB);
};

/// Takes grants and keeps none: the flood holds no knock.
class NullFirewall : public knock::Firewall {
 public:
  bool Setup(const knock::FirewallLayout&, std::string*) override {
    return true;
  }
  bool Open(const knock::Grant&, std::string*) override { return true; }
  bool Flush(std::string*) override { return true; }
  const char* Name() const override { return "null"; }
};

}  // namespace

TEST_CASE(
    "under a flood that outlasts the lead, the filter swap due meanwhile "
    "happens between bounded drains, before the capture runs dry",
    "[capture_drain]") {
  const knock::PrivateKey server_key = knock::PrivateKey::Generate();
  knock::ServerConfig config;
  config.services = {{"ssh", {{knock::Transport::kTcp, 22}}, 15000}};
  config.clients = {{"alice", knock::PrivateKey::Generate().Public(), {"ssh"}}};
  knock::SequenceTable helper;
  helper.set_windows_ahead(1);
  std::string err;
  REQUIRE(helper.Init(config, server_key, &err));
  helper.RollTo(kWindow);
  const knock::SequenceTableImage image = helper.Image();

  // 20 ms before the swap is due, the flood is already waiting.
  int64_t now_us = kSwapDueUs - 20 * kMsUs;
  FloodSource source(&now_us);
  knock::Logger logger;
  NullFirewall firewall;
  knock::ReplayStore store;
  knock::CapturePortFilter filter(&source, true, &logger);
  knock::KnockPipeline pipeline(&config, &firewall, &store, &logger, 1);
  REQUIRE(filter.TakeTable(image, config.knock, now_us, &err));
  REQUIRE(pipeline.LoadTable(image, &err));
  REQUIRE(source.swaps.size() == 1);

  // The sniffer's loop: the filter first, then one drain; a cut drain
  // brings the next pass at once.
  knock::DrainResult drain;
  int drains = 0;
  do {
    REQUIRE(filter.OnTimer(now_us, &err));
    REQUIRE(knock::DrainCapture(&source, &pipeline, &drain, &err));
    ++drains;
  } while (drain.cut);

  CHECK(pipeline.stats().frames == kFloodFrames);
  CHECK(drains > 1);
  REQUIRE(source.swaps.size() == 2);
  const FloodSource::Swap& swap = source.swaps[1];
  CHECK(swap.frames_waiting > 0);
  CHECK(swap.at_us >= kSwapDueUs);
  // Late by at most one bounded drain.
  CHECK(swap.at_us - kSwapDueUs <=
        int64_t{knock::kDrainFramesPerCapture} * kFrameCostUs);
}
