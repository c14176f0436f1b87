// The state directory: owned by root, the daemon's user or the account
// reading it, and writable by nobody else.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "knockd/shared/state_dir_check.h"
#include "temp_dir.h"

namespace {

constexpr uid_t kStrangerUid = 54321;  // no account on a test machine

}  // namespace

TEST_CASE("A private state directory of this account passes") {
  TempDir dir("knock-state-dir-test");
  std::string err;
  CHECK(knock::CheckStateDirectory(dir.path(), "no-such-account-here", &err));
  REQUIRE(chmod(dir.path().c_str(), 0750) == 0);
  CHECK(knock::CheckStateDirectory(dir.path(), "no-such-account-here", &err));
}

TEST_CASE("A state directory others may write is refused with the fix") {
  TempDir dir("knock-state-dir-test");
  std::string err;
  REQUIRE(chmod(dir.path().c_str(), 0777) == 0);
  CHECK_FALSE(knock::CheckStateDirectory(dir.path(), "root", &err));
  CHECK(err == dir.path() +
                   ": state directory is writable by others (mode 0777); "
                   "run: chmod 700 " +
                   dir.path());
  REQUIRE(chmod(dir.path().c_str(), 0770) == 0);
  CHECK_FALSE(knock::CheckStateDirectory(dir.path(), "root", &err));
  CHECK(err == dir.path() +
                   ": state directory is writable by its group (mode 0770); "
                   "run: chmod 700 " +
                   dir.path());
}

TEST_CASE("A state directory of another account is refused with the fix") {
  if (geteuid() != 0) {
    WARN("needs root to give the directory away; skipped");
    return;
  }
  TempDir dir("knock-state-dir-test");
  std::string err;
  REQUIRE(chown(dir.path().c_str(), kStrangerUid, kStrangerUid) == 0);
  CHECK_FALSE(knock::CheckStateDirectory(dir.path(), "root", &err));
  CHECK(err == dir.path() + ": state directory is owned by uid 54321, not by " +
                   "root; run: chown root " + dir.path());
  // Control: the daemon's own account may own it.
  REQUIRE(chown(dir.path().c_str(), 0, 0) == 0);
  CHECK(knock::CheckStateDirectory(dir.path(), "root", &err));
}

TEST_CASE("A state directory that is not one is refused") {
  TempDir dir("knock-state-dir-test");
  std::string err;
  CHECK_FALSE(
      knock::CheckStateDirectory(dir.path() + "/missing", "root", &err));
  CHECK(err == dir.path() +
                   "/missing: cannot use the state directory: No such file "
                   "or directory");
}
