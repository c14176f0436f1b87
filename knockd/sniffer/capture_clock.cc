#include "knockd/sniffer/capture_clock.h"

#include <algorithm>

namespace knock {

namespace {

int64_t Distance(int64_t a, int64_t b) { return a > b ? a - b : b - a; }

}  // namespace

int64_t CaptureClock::Observe(int64_t frame_us, int64_t max_jump_us,
                              int64_t* step_us) {
  *step_us = 0;
  if (!started_) {
    started_ = true;
    now_us_ = frame_us;
    return now_us_;
  }
  if (Distance(frame_us, now_us_) <= max_jump_us) {
    // Frames of several interfaces arrive a little out of order: the clock
    // only moves forward here.
    now_us_ = std::max(now_us_, frame_us);
    candidates_ = 0;
    return now_us_;
  }
  ++far_frames_;
  if (candidates_ > 0 && Distance(frame_us, candidate_us_) <= max_jump_us) {
    ++candidates_;
    candidate_us_ = std::max(candidate_us_, frame_us);
  } else {
    candidates_ = 1;
    candidate_us_ = frame_us;
  }
  if (candidates_ < kConfirmFrames) return now_us_;
  *step_us = candidate_us_ - now_us_;
  now_us_ = candidate_us_;
  candidates_ = 0;
  return now_us_;
}

}  // namespace knock
