#include "knockd/sniffer/capture_pacer.h"

namespace knock {

void CapturePacer::OnDrain(int64_t now_us, uint64_t frames, bool cut) {
  // A cut drain's rest waits in the ring: sleeping a period on it would
  // delay the loop's next pass (and a filter swap due in it) for nothing.
  // Its frames still count towards the period's flood.
  cut_ = cut;
  // A drain this long after a period began follows a quiet spell.
  const int64_t quiet_after_us = 2 * period_us_;
  // A monotonic clock does not go back; should it, this is a quiet spell.
  const int64_t since_us =
      now_us >= period_start_us_ ? now_us - period_start_us_ : quiet_after_us;
  if (since_us < period_us_) {
    frames_in_period_ += frames;
    return;
  }
  period_start_us_ = now_us;
  if (since_us < quiet_after_us) {
    // The drain that ends a period (at its end when paced) holds frames
    // that came during it: with them, the period decides the next.
    const uint64_t period_frames = frames_in_period_ + frames;
    paced_ = period_frames >= kFloodFrames;
    // Frames a millisecond, whichever period brought them.
    const uint64_t per_ms = period_frames * static_cast<uint64_t>(kPeriodUs) /
                            static_cast<uint64_t>(since_us);
    period_us_ = per_ms >= kHeavyFloodFrames ? kHeavyPeriodUs : kPeriodUs;
    frames_in_period_ = 0;
    return;
  }
  // After a quiet spell the frames are the new period's own: a burst of
  // knocks is drained frame by frame as it arrives.
  paced_ = false;
  period_us_ = kPeriodUs;
  frames_in_period_ = frames;
}

bool CapturePacer::Paced(int64_t now_us) const {
  return paced_ && !cut_ && now_us >= period_start_us_ &&
         now_us - period_start_us_ < period_us_;
}

int CapturePacer::PollTimeoutMs(int64_t now_us, int idle_ms) const {
  if (cut_) return 0;
  if (!Paced(now_us)) return idle_ms;
  const int64_t left_us = period_start_us_ + period_us_ - now_us;
  return static_cast<int>((left_us + 999) / 1000);
}

}  // namespace knock
