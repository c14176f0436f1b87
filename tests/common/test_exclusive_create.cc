// Temporary files for atomic saves: always a new file of our own.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/exclusive_create.h"
#include "temp_dir.h"

namespace {

std::string FirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

}  // namespace

TEST_CASE("A new file is created with the mode asked for") {
  TempDir dir("knock-exclusive-test");
  const std::string path = dir.path() + "/state.tmp";
  const knock::UniqueFd fd = knock::CreateExclusive(path, 0600);
  REQUIRE(fd.valid());
  struct stat info {};
  REQUIRE(fstat(fd.get(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0600);
}

TEST_CASE("A symlink planted at the name is removed, never written through") {
  TempDir dir("knock-exclusive-test");
  const std::string target = dir.path() + "/target";
  const std::string path = dir.path() + "/state.tmp";
  std::ofstream(target) << "precious\n";
  REQUIRE(symlink(target.c_str(), path.c_str()) == 0);
  // Control: an ordinary open follows the link to the target.
  {
    const knock::UniqueFd followed(open(path.c_str(), O_WRONLY | O_APPEND));
    CHECK(followed.valid());
  }
  knock::UniqueFd fd = knock::CreateExclusive(path, 0600);
  REQUIRE(fd.valid());
  REQUIRE(write(fd.get(), "new\n", 4) == 4);
  fd.Reset();
  CHECK(FirstLine(target) == "precious");
  CHECK(FirstLine(path) == "new");
  struct stat info {};
  REQUIRE(lstat(path.c_str(), &info) == 0);
  CHECK(S_ISREG(info.st_mode));
}

TEST_CASE("A file left by a crash is replaced") {
  TempDir dir("knock-exclusive-test");
  const std::string path = dir.path() + "/state.tmp";
  std::ofstream(path) << "half a line";
  knock::UniqueFd fd = knock::CreateExclusive(path, 0600);
  REQUIRE(fd.valid());
  struct stat info {};
  REQUIRE(fstat(fd.get(), &info) == 0);
  CHECK(info.st_size == 0);
}

TEST_CASE("A directory where the file goes fails with errno") {
  TempDir dir("knock-exclusive-test");
  const std::string path = dir.path() + "/state.tmp";
  REQUIRE(mkdir(path.c_str(), 0700) == 0);
  const knock::UniqueFd fd = knock::CreateExclusive(path, 0600);
  CHECK_FALSE(fd.valid());
}
