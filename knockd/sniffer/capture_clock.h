#pragma once
// The time a capture file's frames say it is, as `knockd replay` follows it:
// the windows move with the capture, but one frame stamped far from its
// neighbours (a corrupt or crafted record) cannot drag them along.

#include <cstdint>

namespace knock {

/// Follows frame timestamps forward. A frame more than `max_jump_us` from
/// the clock leaves it alone, unless it is the first of kConfirmFrames
/// consecutive frames that agree with each other: then the capture's clock
/// really stepped (the capturing host's clock was set) and the clock takes
/// the new time, once.
class CaptureClock {
 public:
  static constexpr int kConfirmFrames = 4;

  /// Feeds one frame's time; returns the clock's time after it. `*step_us`
  /// is how far the clock just stepped (0 when it followed or stayed).
  int64_t Observe(int64_t frame_us, int64_t max_jump_us, int64_t* step_us);
  /// True while the last frames were far from the clock and may yet turn
  /// out to be a step.
  bool pending() const { return candidates_ > 0; }
  /// Frames so far that were too far from the clock to move it.
  uint64_t far_frames() const { return far_frames_; }

 private:
  bool started_ = false;
  int64_t now_us_ = 0;
  /// The newest of the far frames that agree so far, and how many.
  int64_t candidate_us_ = 0;
  int candidates_ = 0;
  uint64_t far_frames_ = 0;
};

}  // namespace knock
