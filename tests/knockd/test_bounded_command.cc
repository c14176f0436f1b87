// Running a command without a shell, with /dev/null on stdin, and bounded.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "knockd/helper/bounded_command.h"
#include "temp_dir.h"

TEST_CASE("commands get /dev/null on stdin and no shell", "[bounded]") {
  TempDir dir("knock-bounded-test");
  const std::string probe = dir.Script(
      "probe",
      "#!/bin/sh\nreadlink /proc/$$/fd/0 > \"$1\"\nprintf '%s' \"$2\" >> "
      "\"$1\"\n");
  std::string err;
  // A shell would expand $HOME and split on the space and the semicolon.
  REQUIRE(knock::RunBoundedCommand({probe, dir.File("out"), "$HOME a;b"}, 5000,
                                   &err));
  CHECK(dir.Read("out") == "/dev/null\n$HOME a;b");
}

TEST_CASE("the daemon's descriptors stay with the daemon", "[bounded]") {
  TempDir dir("knock-bounded-test");
  const std::string probe =
      dir.Script("probe", "#!/bin/sh\nls /proc/$$/fd > \"$1\"\n");
  const int leaked = dup(STDOUT_FILENO);
  REQUIRE(leaked > 2);
  std::string err;
  REQUIRE(knock::RunBoundedCommand({probe, dir.File("fds")}, 5000, &err));
  close(leaked);
  // 0-2, and the one ls opened for its own listing.
  CHECK(dir.Read("fds").find(std::to_string(leaked) + "\n") ==
        std::string::npos);
}

TEST_CASE("how a command ended is told word for word", "[bounded]") {
  TempDir dir("knock-bounded-test");
  std::string err;
  CHECK_FALSE(knock::RunBoundedCommand({dir.File("nothere")}, 1000, &err));
  CHECK(err == "cannot run \"" + dir.File("nothere") +
                   "\": No such file or directory");
  CHECK_FALSE(knock::RunBoundedCommand({"sleep", "1"}, 1000, &err));
  CHECK(err == "command \"sleep\" is not an absolute path");
  const std::string fail = dir.Script(
      "fail", "#!/bin/sh\necho 'first line' >&2\necho second >&2\nexit 4\n");
  CHECK_FALSE(knock::RunBoundedCommand({fail}, 5000, &err));
  CHECK(err == "\"" + fail + "\" exited with status 4: first line");
  const std::string quiet = dir.Script("quiet", "#!/bin/sh\nexit 2\n");
  CHECK_FALSE(knock::RunBoundedCommand({quiet}, 5000, &err));
  CHECK(err == "\"" + quiet + "\" exited with status 2");
  const std::string killed = dir.Script("killed", "#!/bin/sh\nkill -TERM $$\n");
  CHECK_FALSE(knock::RunBoundedCommand({killed}, 5000, &err));
  CHECK(err == "\"" + killed + "\" was killed by signal 15");
}

TEST_CASE("a command that leaves a child behind is done when it exits",
          "[bounded]") {
  TempDir dir("knock-bounded-test");
  // The background sleep keeps the output pipe open; waiting for EOF would
  // take 30 seconds.
  const std::string daemonize =
      dir.Script("daemonize", "#!/bin/sh\nsleep 30 &\necho $! > \"$1\"\n");
  std::string err;
  const auto start = std::chrono::steady_clock::now();
  CHECK(knock::RunBoundedCommand({daemonize, dir.File("pid")}, 5000, &err));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
  const int sleeper = std::stoi(dir.Read("pid"));
  if (sleeper > 0) kill(sleeper, SIGKILL);
}
