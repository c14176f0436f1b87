// The operational log's levels and line format.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>

#include "knockd/shared/logger.h"

namespace {

/// Runs `write` with stderr sent to a pipe and returns what it printed.
template <typename F>
std::string CaptureStderr(F write) {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  fflush(stderr);
  const int saved = dup(STDERR_FILENO);
  dup2(fds[1], STDERR_FILENO);
  write();
  fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
  close(fds[1]);
  std::string text;
  char buffer[512];
  ssize_t n;
  while ((n = read(fds[0], buffer, sizeof buffer)) > 0) text.append(buffer, n);
  close(fds[0]);
  return text;
}

}  // namespace

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
