// The sniffer's wake-ups for capture: at once for knocks, once a period
// under a flood.
#include <catch2/catch.hpp>

#include "knockd/sniffer/capture_pacer.h"

namespace {

constexpr int64_t kStartUs = 5000000;
constexpr int64_t kPeriodUs = knock::CapturePacer::kPeriodUs;
constexpr int kIdleMs = 1000;

/// Drains every `gap_us` for one period, `frames` frames each, then the
/// drain that ends it; returns that drain's time.
int64_t OnePeriod(knock::CapturePacer* pacer, int64_t start_us, int64_t gap_us,
                  uint64_t frames) {
  pacer->OnDrain(start_us, frames);
  int64_t t = start_us + gap_us;
  for (; t < start_us + kPeriodUs; t += gap_us) pacer->OnDrain(t, frames);
  pacer->OnDrain(start_us + kPeriodUs, frames);
  return start_us + kPeriodUs;
}

}  // namespace

TEST_CASE("a burst of knocks after a quiet spell is drained as it arrives",
          "[capture_pacer]") {
  knock::CapturePacer pacer;
  // A flood ends: its last period was paced.
  const int64_t flood_end_us = OnePeriod(&pacer, kStartUs, 100, 1);
  REQUIRE(pacer.Paced(flood_end_us));
  // Quiet, then eight knocks 50 us apart: none waits.
  int64_t t = flood_end_us + 5 * kPeriodUs;
  for (int i = 0; i < 8; ++i, t += 50) {
    CHECK_FALSE(pacer.Paced(t));
    pacer.OnDrain(t, 1);
  }
  CHECK(pacer.PollTimeoutMs(t, kIdleMs) == kIdleMs);
}

TEST_CASE("a burst right after a paced period waits (control)",
          "[capture_pacer]") {
  knock::CapturePacer pacer;
  const int64_t end_us = OnePeriod(&pacer, kStartUs, 100, 1);
  // The same burst, but the flood's period decided to pace this one.
  CHECK(pacer.Paced(end_us + 50));
  CHECK(pacer.PollTimeoutMs(end_us + 50, kIdleMs) == 1);
}

TEST_CASE("a flood drains once a period, and a knock waits at most one",
          "[capture_pacer]") {
  knock::CapturePacer pacer;
  // Frames every 100 us, one a drain: ten wake-ups in the first period, a
  // light flood.
  const int64_t end_us = OnePeriod(&pacer, kStartUs, 100, 1);
  CHECK(pacer.Paced(end_us));
  CHECK(pacer.Paced(end_us + kPeriodUs - 1));
  CHECK(pacer.PollTimeoutMs(end_us, kIdleMs) == 1);
  CHECK(pacer.PollTimeoutMs(end_us + 300, kIdleMs) == 1);
  CHECK_FALSE(pacer.Paced(end_us + kPeriodUs));
  // Paced, the drain at the period's end holds its ten frames: the next
  // period is paced too.
  pacer.OnDrain(end_us + kPeriodUs, 10);
  CHECK(pacer.Paced(end_us + kPeriodUs));
}

TEST_CASE("the pacing ends with the flood", "[capture_pacer]") {
  knock::CapturePacer pacer;
  const int64_t end_us = OnePeriod(&pacer, kStartUs, 100, 1);
  REQUIRE(pacer.Paced(end_us));
  pacer.OnDrain(end_us + kPeriodUs, knock::CapturePacer::kFloodFrames - 1);
  CHECK_FALSE(pacer.Paced(end_us + kPeriodUs));
  CHECK(pacer.PollTimeoutMs(end_us + kPeriodUs, kIdleMs) == kIdleMs);
}

TEST_CASE("frames one short of a flood do not pace (control)",
          "[capture_pacer]") {
  knock::CapturePacer pacer;
  pacer.OnDrain(kStartUs, 0);
  pacer.OnDrain(kStartUs + 10, knock::CapturePacer::kFloodFrames - 1);
  pacer.OnDrain(kStartUs + kPeriodUs, 0);
  CHECK_FALSE(pacer.Paced(kStartUs + kPeriodUs));
  pacer.OnDrain(kStartUs + kPeriodUs + 10, knock::CapturePacer::kFloodFrames);
  pacer.OnDrain(kStartUs + 2 * kPeriodUs, 0);
  CHECK(pacer.Paced(kStartUs + 2 * kPeriodUs));
}

TEST_CASE("a clock gone back ends the period", "[capture_pacer]") {
  knock::CapturePacer pacer;
  const int64_t end_us = OnePeriod(&pacer, kStartUs, 100, 1);
  REQUIRE(pacer.Paced(end_us));
  pacer.OnDrain(end_us - 10 * kPeriodUs, 0);
  CHECK_FALSE(pacer.Paced(end_us - 10 * kPeriodUs));
}

TEST_CASE(
    "a drain cut at its bound is followed at once, even in a paced period",
    "[capture_pacer]") {
  knock::CapturePacer pacer;
  const int64_t end_us = OnePeriod(&pacer, kStartUs, 100, 1);
  REQUIRE(pacer.Paced(end_us));
  pacer.OnDrain(end_us + 10, 4096, /*cut=*/true);
  CHECK_FALSE(pacer.Paced(end_us + 10));
  CHECK(pacer.PollTimeoutMs(end_us + 10, kIdleMs) == 0);
  // Drained dry: the period's pacing resumes.
  pacer.OnDrain(end_us + 20, 100, /*cut=*/false);
  CHECK(pacer.Paced(end_us + 20));
  CHECK(pacer.PollTimeoutMs(end_us + 20, kIdleMs) == 1);
  // Out of a flood too: a cut drain is never followed by the idle timeout.
  knock::CapturePacer quiet;
  quiet.OnDrain(kStartUs, 4096, /*cut=*/true);
  CHECK(quiet.PollTimeoutMs(kStartUs, kIdleMs) == 0);
}

TEST_CASE(
    "a heavy flood drains once every two periods, a light one once a period",
    "[capture_pacer]") {
  constexpr uint64_t kHeavy = knock::CapturePacer::kHeavyFloodFrames;
  knock::CapturePacer pacer;
  // A frame every 20 us: fifty-one in the first period, a heavy flood.
  int64_t t = OnePeriod(&pacer, kStartUs, 20, 1);
  REQUIRE(pacer.period_us() == knock::CapturePacer::kHeavyPeriodUs);
  CHECK(pacer.Paced(t + 2 * kPeriodUs - 1));
  CHECK(pacer.PollTimeoutMs(t, kIdleMs) == 2);
  CHECK_FALSE(pacer.Paced(t + 2 * kPeriodUs));
  // Its drain two milliseconds on is the period's end, not a quiet spell:
  // the flood goes on at the same rate, so does the long period.
  t += 2 * kPeriodUs;
  pacer.OnDrain(t, 2 * kHeavy);
  CHECK(pacer.Paced(t + 2 * kPeriodUs - 1));
  // Lighter: one frame short of heavy a millisecond, 1 ms periods again.
  t += 2 * kPeriodUs;
  pacer.OnDrain(t, 2 * kHeavy - 2);
  CHECK(pacer.period_us() == kPeriodUs);
  CHECK(pacer.Paced(t + kPeriodUs - 1));
  CHECK_FALSE(pacer.Paced(t + kPeriodUs));
  CHECK(pacer.PollTimeoutMs(t, kIdleMs) == 1);
}

TEST_CASE("a quiet spell after a heavy flood drains knocks as they arrive",
          "[capture_pacer]") {
  knock::CapturePacer pacer;
  const int64_t end_us = OnePeriod(&pacer, kStartUs, 20, 1);
  REQUIRE(pacer.period_us() == knock::CapturePacer::kHeavyPeriodUs);
  int64_t t = end_us + 10 * kPeriodUs;
  for (int i = 0; i < 8; ++i, t += 50) {
    CHECK_FALSE(pacer.Paced(t));
    pacer.OnDrain(t, 1);
  }
  CHECK(pacer.period_us() == kPeriodUs);
}
