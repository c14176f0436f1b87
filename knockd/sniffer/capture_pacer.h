#pragma once
// When the sniffer's loop may wait for the capture: at once while frames
// are few, once a period while they come as a flood.

#include <cstdint>

namespace knock {

/// Paces the loop's wake-ups for capture. A wake-up costs the sniffer
/// about 10 µs (a context switch on a small virtual machine), as much as
/// matching some fifty frames; under a flood the kernel would wake it for
/// nearly every frame. Once a period delivered `kFloodFrames` frames or
/// more, the next period drains the capture once, at its end: a frame then
/// waits at most a period. The period is 1 ms, and 2 ms once the flood
/// delivers `kHeavyFloodFrames` a millisecond. After a quiet spell the
/// first frame starts a period unpaced, so a burst of knocks is matched as
/// it arrives.
class CapturePacer {
 public:
  static constexpr int64_t kPeriodUs = 1000;
  /// Two frames in a period: a flood of a few thousand frames a second
  /// already costs more in wake-ups than in matching.
  static constexpr uint64_t kFloodFrames = 2;
  /// A heavy flood: its frames of a millisecond cost more to match than the
  /// wake-up that drains them. Below it the daemon's whole cost is a few
  /// percent of a core and a knock waits at most 1 ms; above it halving
  /// the wake-ups saves a quarter of the sniffer's CPU (bench part 3, 100
  /// clients: 121 -> 98 ns a flood packet) and a knock waits at most 2 ms.
  static constexpr uint64_t kHeavyFloodFrames = 50;
  static constexpr int64_t kHeavyPeriodUs = 2 * kPeriodUs;

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
  /// The current period: kPeriodUs, or kHeavyPeriodUs in a heavy flood.
  int64_t period_us() const { return period_us_; }

 private:
  int64_t period_us_ = kPeriodUs;
  int64_t period_start_us_ = 0;
  uint64_t frames_in_period_ = 0;
  bool paced_ = false;
  /// The last drain stopped at its bound.
  bool cut_ = false;
};

}  // namespace knock
