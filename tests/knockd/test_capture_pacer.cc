// The sniffer's wake-ups for capture: at once for knocks, once a period
// under a flood.
#include <catch2/catch.hpp>

#include "knockd/sniffer/capture_pacer.h"

namespace {

constexpr int64_t kStartUs = 5000000;
constexpr int64_t kPeriodUs = knock::CapturePacer::kPeriodUs;
constexpr int kPeriodMs = static_cast<int>(kPeriodUs / 1000);
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
  const int64_t flood_end_us = OnePeriod(&pacer, kStartUs, 20, 1);
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
  const int64_t end_us = OnePeriod(&pacer, kStartUs, 20, 1);
  // The same burst, but the flood's period decided to pace this one.
  CHECK(pacer.Paced(end_us + 50));
  CHECK(pacer.PollTimeoutMs(end_us + 50, kIdleMs) == kPeriodMs);
}

TEST_CASE("a flood drains once a period, and a knock waits at most one",
          "[capture_pacer]") {
  knock::CapturePacer pacer;
  // Frames every 20 us, one a drain: fifty wake-ups in the first period.
  const int64_t end_us = OnePeriod(&pacer, kStartUs, 20, 1);
  CHECK(pacer.Paced(end_us));
  CHECK(pacer.Paced(end_us + kPeriodUs - 1));
  CHECK(pacer.PollTimeoutMs(end_us, kIdleMs) == kPeriodMs);
  CHECK(pacer.PollTimeoutMs(end_us + 300, kIdleMs) == kPeriodMs);
  CHECK_FALSE(pacer.Paced(end_us + kPeriodUs));
  // Paced, the drain at the period's end holds its fifty frames: the next
  // period is paced too.
  pacer.OnDrain(end_us + kPeriodUs, 50);
  CHECK(pacer.Paced(end_us + kPeriodUs));
}

TEST_CASE("the pacing ends with the flood", "[capture_pacer]") {
  knock::CapturePacer pacer;
  const int64_t end_us = OnePeriod(&pacer, kStartUs, 20, 1);
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
  const int64_t end_us = OnePeriod(&pacer, kStartUs, 20, 1);
  REQUIRE(pacer.Paced(end_us));
  pacer.OnDrain(end_us - 10 * kPeriodUs, 0);
  CHECK_FALSE(pacer.Paced(end_us - 10 * kPeriodUs));
}

TEST_CASE(
    "a drain cut at its bound is followed at once, even in a paced period",
    "[capture_pacer]") {
  knock::CapturePacer pacer;
  const int64_t end_us = OnePeriod(&pacer, kStartUs, 20, 1);
  REQUIRE(pacer.Paced(end_us));
  pacer.OnDrain(end_us + 10, 4096, /*cut=*/true);
  CHECK_FALSE(pacer.Paced(end_us + 10));
  CHECK(pacer.PollTimeoutMs(end_us + 10, kIdleMs) == 0);
  // Drained dry: the period's pacing resumes.
  pacer.OnDrain(end_us + 20, 100, /*cut=*/false);
  CHECK(pacer.Paced(end_us + 20));
  CHECK(pacer.PollTimeoutMs(end_us + 20, kIdleMs) == kPeriodMs);
  // Out of a flood too: a cut drain is never followed by the idle timeout.
  knock::CapturePacer quiet;
  quiet.OnDrain(kStartUs, 4096, /*cut=*/true);
  CHECK(quiet.PollTimeoutMs(kStartUs, kIdleMs) == 0);
}
