#include "knockd/sniffer/capture_pacer.h"

namespace knock {

void CapturePacer::OnDrain(int64_t now_us, uint64_t frames, bool cut) {
  // A cut drain's rest waits in the ring: sleeping a period on it would
  // delay the loop's next pass (and a filter swap due in it) for nothing.
  // Its frames still count towards the period's flood.
  cut_ = cut;
  // A monotonic clock does not go back; should it, this is a quiet spell.
  const int64_t since_us =
      now_us >= period_start_us_ ? now_us - period_start_us_ : kQuietAfterUs;
  if (since_us < kPeriodUs) {
    frames_in_period_ += frames;
    return;
  }
  period_start_us_ = now_us;
  if (since_us < kQuietAfterUs) {
    // The drain that ends a period (at its end when paced) holds frames
    // that came during it: with them, the period decides the next.
    paced_ = frames_in_period_ + frames >= kFloodFrames;
    frames_in_period_ = 0;
    return;
  }
  // After a quiet spell the frames are the new period's own: a burst of
  // knocks is drained frame by frame as it arrives.
  paced_ = false;
  frames_in_period_ = frames;
}

bool CapturePacer::Paced(int64_t now_us) const {
  return paced_ && !cut_ && now_us >= period_start_us_ &&
         now_us - period_start_us_ < kPeriodUs;
}

int CapturePacer::PollTimeoutMs(int64_t now_us, int idle_ms) const {
  if (cut_) return 0;
  if (!Paced(now_us)) return idle_ms;
  const int64_t left_us = period_start_us_ + kPeriodUs - now_us;
  return static_cast<int>((left_us + 999) / 1000);
}

}  // namespace knock
