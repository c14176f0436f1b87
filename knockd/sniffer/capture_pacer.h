#pragma once
// When the sniffer's loop may wait for the capture: at once while frames
// are few, once a period while they come as a flood.

#include <cstdint>

namespace knock {

/// Paces the loop's wake-ups for capture. A wake-up costs the sniffer
/// about 25 µs of CPU on the benchmark's virtual machine (a context switch
/// under nested virtualisation), as much as matching a hundred frames;
/// under a flood the kernel would wake it for nearly every frame. Once a
/// period delivered `kFloodFrames` frames or more, the next period drains
/// the capture once, at its end: a frame then waits at most a period.
/// After a quiet spell the first frame starts a period unpaced, so a burst
/// of knocks is matched as it arrives.
class CapturePacer {
 public:
  /// 500 wake-ups a second under any flood: about 1 % of a core there, half
  /// what 1 ms cost (bench part 3 at one client: 98 -> 54 ns a flood
  /// packet), for a knock waiting at most 2 ms, and only during a flood
  /// (its p50 under flood moved 2.6 -> 2.7 ms). 4 ms would reach the
  /// issue's 100 ns at 100 clients but a knock would wait up to 4 ms.
  static constexpr int64_t kPeriodUs = 2000;
  /// Two frames in a period: a flood of a few thousand frames a second
  /// already costs more in wake-ups than in matching.
  static constexpr uint64_t kFloodFrames = 2;
  /// A drain this long after a period began follows a quiet spell.
  static constexpr int64_t kQuietAfterUs = 2 * kPeriodUs;

  /// After a drain at `now_us` (a monotonic clock) that delivered `frames`;
  /// `cut` when it stopped at its bound (kDrainFramesPerCapture) with
  /// frames perhaps still waiting.
  void OnDrain(int64_t now_us, uint64_t frames, bool cut = false);
  /// True while the loop should leave the capture unpolled; never after a
  /// cut drain, whose rest is drained at once.
  bool Paced(int64_t now_us) const;
  /// The loop's poll timeout: 0 after a cut drain (the loop swaps the
  /// filter if due and drains the next chunk without sleeping); until the
  /// period's end while paced (at least 1 ms); else `idle_ms`.
  int PollTimeoutMs(int64_t now_us, int idle_ms) const;

 private:
  int64_t period_start_us_ = 0;
  uint64_t frames_in_period_ = 0;
  bool paced_ = false;
  /// The last drain stopped at its bound.
  bool cut_ = false;
};

}  // namespace knock
