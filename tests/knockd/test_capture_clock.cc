// CaptureClock: a capture's frames move the clock, one far frame does not,
// a real step of the capturing host's clock does, once.
#include <catch2/catch.hpp>

#include "knockd/sniffer/capture_clock.h"

namespace {

constexpr int64_t kSecondUs = 1000000;
constexpr int64_t kT0Us = int64_t{1800000000} * kSecondUs;
constexpr int64_t kHourUs = 3600 * kSecondUs;
constexpr int64_t kStepUs = 30 * kSecondUs;

}  // namespace

TEST_CASE("the capture clock follows frames forward only", "[clock]") {
  knock::CaptureClock clock;
  int64_t step = 0;
  CHECK(clock.Observe(kT0Us, kStepUs, &step) == kT0Us);
  CHECK(clock.Observe(kT0Us + 5 * kSecondUs, kStepUs, &step) ==
        kT0Us + 5 * kSecondUs);
  // A frame of another interface a little behind.
  CHECK(clock.Observe(kT0Us + 4 * kSecondUs, kStepUs, &step) ==
        kT0Us + 5 * kSecondUs);
  CHECK(step == 0);
  CHECK(clock.far_frames() == 0);
}

TEST_CASE("one frame an hour ahead does not move the capture clock",
          "[clock]") {
  knock::CaptureClock clock;
  int64_t step = 0;
  clock.Observe(kT0Us, kStepUs, &step);
  CHECK(clock.Observe(kT0Us + kHourUs, kStepUs, &step) == kT0Us);
  CHECK(step == 0);
  CHECK(clock.pending());
  for (int i = 1; i <= 20; ++i) {
    CHECK(clock.Observe(kT0Us + i * 1000, kStepUs, &step) == kT0Us + i * 1000);
    CHECK(step == 0);
  }
  CHECK(clock.far_frames() == 1);
  CHECK_FALSE(clock.pending());
}

TEST_CASE("far frames that do not agree never step the capture clock",
          "[clock]") {
  knock::CaptureClock clock;
  int64_t step = 0;
  clock.Observe(kT0Us, kStepUs, &step);
  for (int i = 1; i <= 100; ++i) {
    // Each an hour further than the last.
    CHECK(clock.Observe(kT0Us + i * kHourUs, kStepUs, &step) == kT0Us);
    CHECK(step == 0);
  }
}

TEST_CASE("a real step of the capture's clock is taken once it is confirmed",
          "[clock]") {
  for (int64_t jump : {kHourUs, -kHourUs}) {
    knock::CaptureClock clock;
    int64_t step = 0;
    clock.Observe(kT0Us, kStepUs, &step);
    const int64_t stepped = kT0Us + jump;
    for (int i = 1; i < knock::CaptureClock::kConfirmFrames; ++i) {
      CHECK(clock.Observe(stepped + i, kStepUs, &step) == kT0Us);
      CHECK(step == 0);
    }
    const int last = knock::CaptureClock::kConfirmFrames;
    CHECK(clock.Observe(stepped + last, kStepUs, &step) == stepped + last);
    CHECK(step == jump + last);
    CHECK(clock.Observe(stepped + last + 1, kStepUs, &step) ==
          stepped + last + 1);
    CHECK(step == 0);
  }
}

TEST_CASE("a lone far first frame is outvoted by the frames after it",
          "[clock]") {
  knock::CaptureClock clock;
  int64_t step = 0;
  clock.Observe(kT0Us + kHourUs, kStepUs, &step);
  int64_t now = 0;
  for (int i = 1; i <= knock::CaptureClock::kConfirmFrames; ++i)
    now = clock.Observe(kT0Us + i, kStepUs, &step);
  CHECK(now == kT0Us + knock::CaptureClock::kConfirmFrames);
  CHECK(step < -kHourUs + kSecondUs);
}
