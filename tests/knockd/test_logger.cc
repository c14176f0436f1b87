// The operational log's levels and line format.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>

#include "capture_stderr.h"
#include "knockd/shared/logger.h"

TEST_CASE("levels parse by name", "[logger]") {
  knock::LogLevel level;
  REQUIRE(knock::ParseLogLevel("warning", &level));
  CHECK(level == knock::LogLevel::kWarning);
  CHECK_FALSE(knock::ParseLogLevel("verbose", &level));
}

TEST_CASE("a terminal line names the program and the level", "[logger]") {
  unsetenv("JOURNAL_STREAM");
  knock::Logger logger("knockd");
  const std::string text = CaptureStderr([&] {
    logger.Debug("hidden at the default level");
    logger.Warning("refused replay");
  });
  CHECK(text == "knockd: warning: refused replay\n");
}

TEST_CASE("under journald each line carries its priority", "[logger]") {
  setenv("JOURNAL_STREAM", "8:1234", 1);
  knock::Logger logger("knockd");
  logger.set_min_level(knock::LogLevel::kDebug);
  const std::string text = CaptureStderr([&] {
    logger.Debug("d");
    logger.Error("e");
  });
  unsetenv("JOURNAL_STREAM");
  CHECK(text == "<7>d\n<3>e\n");
}
