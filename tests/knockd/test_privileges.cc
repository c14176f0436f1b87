// Dropping capabilities after setup, checked in a child process so that the
// test runner keeps its own.
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "knockd/shared/privileges.h"

TEST_CASE("only the named capabilities survive, and no_new_privs is set",
          "[privileges]") {
  if (geteuid() != 0) {
    WARN("not root: capability drop not exercised");
    return;
  }
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    std::string err;
    if (!knock::KeepOnlyCapabilities({CAP_NET_ADMIN, CAP_NET_RAW}, &err))
      _exit(10);
    unsigned long long mask = 0;
    if (!knock::EffectiveCapabilities(&mask, &err)) _exit(11);
    const unsigned long long expected =
        (1ULL << CAP_NET_ADMIN) | (1ULL << CAP_NET_RAW);
    if (mask != expected) _exit(12);
    if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) _exit(13);
    if (prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) != 0) _exit(14);
    // Without CAP_DAC_OVERRIDE root can no longer read a 0000 file.
    _exit(0);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("the effective set of this process can be read", "[privileges]") {
  unsigned long long mask = 0;
  std::string err;
  REQUIRE(knock::EffectiveCapabilities(&mask, &err));
  if (geteuid() != 0) CHECK(mask == 0);
}
