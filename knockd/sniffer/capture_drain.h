#pragma once
// One drain of the capture in the sniffer's loop, bounded: however fast
// frames arrive, the loop comes back between chunks to swap the capture
// filter on time (a window's ports must pass before its roll).

#include <cstdint>
#include <string>

#include "knockd/sniffer/knock_pipeline.h"
#include "knockd/sniffer/packet_source.h"

namespace knock {

/// Frames one drain takes from each capture at most. The filter's lead
/// before a roll is 1 s (FilterMarginsOf); at the slowest matching
/// measured, 2,822 ns of daemon CPU a flood packet (10,000 clients under a
/// flood of random sources, BENCHMARKS.md; every packet reaches matching), a
/// drain this long takes about 11.6 ms per capture, under 1.2 % of the lead.
/// Unbounded, libpcap reads the ring until it finds it empty, frames that
/// arrive meanwhile included, so a flood faster than matching would keep the
/// loop in one drain for good. The end of a chunk costs a poll and a clock
/// reading, a few microseconds: under 1 % of the chunk even at the fastest
/// matching measured (bench_flood_matching, about 110 ns a frame the filter
/// passes at 100 clients).
inline constexpr uint32_t kDrainFramesPerCapture = 4096;

/// What one drain did.
struct DrainResult {
  /// Frames the pipeline took.
  uint64_t frames = 0;
  /// A capture delivered kDrainFramesPerCapture frames: more may be waiting,
  /// and the loop comes back at once.
  bool cut = false;
};

/// Takes at most kDrainFramesPerCapture frames from each capture of
/// `source` into `pipeline`, matched in batches, the last short one at the
/// end, so that no knock waits for the next drain. False on a capture
/// error (`err` says what) or at the end of a file (`err` empty).
bool DrainCapture(PacketSource* source, KnockPipeline* pipeline,
                  DrainResult* result, std::string* err);

}  // namespace knock
