#pragma once
// What a piece of code prints on stderr, for asserting log lines word for
// word (the logger writes there when neither journald nor syslog is on).

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <string>

/// Runs `run` with stderr sent to a pipe and returns what it printed.
template <typename F>
std::string CaptureStderr(F run) {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  fflush(stderr);
  const int saved = dup(STDERR_FILENO);
  dup2(fds[1], STDERR_FILENO);
  run();
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
