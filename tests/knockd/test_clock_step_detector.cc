// ClockStepDetector: steps of the wall clock against the monotonic one,
// through the clock seam (plain numbers), never the real clock.
#include <catch2/catch.hpp>

#include "knockd/sniffer/clock_step_detector.h"

namespace {

constexpr int64_t kSecondUs = 1000000;
constexpr int64_t kT0Us = int64_t{1800000000} * kSecondUs;
constexpr int64_t kStepUs = 30 * kSecondUs;

}  // namespace

TEST_CASE("a steady clock never steps", "[clock]") {
  knock::ClockStepDetector detector;
  for (int64_t s = 0; s < 1000; ++s)
    CHECK(detector.Observe(kT0Us + s * kSecondUs, s * kSecondUs, kStepUs) == 0);
}

TEST_CASE("slewing drift never adds up to a step", "[clock]") {
  knock::ClockStepDetector detector;
  // 500 ppm for a day, in one-second ticks: 43 s of drift in all.
  int64_t wall = kT0Us;
  for (int64_t s = 0; s < 86400; ++s, wall += kSecondUs + 500)
    REQUIRE(detector.Observe(wall, s * kSecondUs, kStepUs) == 0);
}

TEST_CASE("a step forward and back of an hour is reported once each",
          "[clock]") {
  knock::ClockStepDetector detector;
  const int64_t hour = 3600 * kSecondUs;
  CHECK(detector.Observe(kT0Us, 0, kStepUs) == 0);
  CHECK(detector.Observe(kT0Us + kSecondUs, kSecondUs, kStepUs) == 0);
  CHECK(detector.Observe(kT0Us + 2 * kSecondUs + hour, 2 * kSecondUs,
                         kStepUs) == hour);
  CHECK(detector.Observe(kT0Us + 3 * kSecondUs + hour, 3 * kSecondUs,
                         kStepUs) == 0);
  CHECK(detector.Observe(kT0Us + 4 * kSecondUs, 4 * kSecondUs, kStepUs) ==
        -hour);
  CHECK(detector.Observe(kT0Us + 5 * kSecondUs, 5 * kSecondUs, kStepUs) == 0);
}

TEST_CASE("a step within the tolerance is no step", "[clock]") {
  knock::ClockStepDetector detector;
  CHECK(detector.Observe(kT0Us, 0, kStepUs) == 0);
  CHECK(detector.Observe(kT0Us + kStepUs, 0, kStepUs) == 0);
  // Control: one microsecond more is a step.
  CHECK(detector.Observe(kT0Us + 2 * kStepUs + 1, 0, kStepUs) == kStepUs + 1);
}
