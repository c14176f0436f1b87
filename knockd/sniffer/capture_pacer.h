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
  /// About 330 wake-ups a second under any flood, whatever its rate. Each
  /// costs the same, so the period alone sets their cost, against how long
  /// a knock may wait in a flood. Measured (bench part 3, daemon CPU a
  /// flood packet with one and with 100 clients; p50 of valid knocks under
  /// a flood): 2 ms 40 / 106 ns, 2.6 ms; 3 ms 27 / 90 ns, 2.7 ms; 8 ms at
  /// 100 clients 91 ns (no better: a longer drain finds its frames colder),
  /// 7.5 ms. 1 ms cost 98 ns at one client. A knock waits at most 3 ms, and
  /// only during a flood.
  static constexpr int64_t kPeriodUs = 3000;
  /// Two frames in a period: a flood of several hundred frames a second
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
