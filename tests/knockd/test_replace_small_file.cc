// The daemon's small state files: replaced whole, never through a link.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "knockd/shared/replace_small_file.h"
#include "temp_dir.h"

namespace {

std::string Read(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("a small file is replaced whole, with its mode",
          "[replace_small_file]") {
  TempDir dir("knockd-small-file");
  const std::string path = dir.path() + "/knockd.pid";
  std::string err;
  REQUIRE(knock::ReplaceSmallFile(path, "41\n", 0644, "pid file", &err));
  REQUIRE(knock::ReplaceSmallFile(path, "42\n", 0644, "pid file", &err));
  CHECK(Read(path) == "42\n");
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0644);
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST_CASE("a link planted at the temporary name is not written through",
          "[replace_small_file]") {
  TempDir dir("knockd-small-file");
  const std::string victim = dir.path() + "/victim";
  std::ofstream(victim) << "precious\n";
  const std::string path = dir.path() + "/knockd.reload";
  REQUIRE(symlink(victim.c_str(), (path + ".tmp").c_str()) == 0);
  std::string err;
  REQUIRE(
      knock::ReplaceSmallFile(path, "answer\n", 0644, "reload answer", &err));
  CHECK(Read(victim) == "precious\n");
  CHECK(Read(path) == "answer\n");
}

TEST_CASE("a file that cannot be written names itself and why",
          "[replace_small_file]") {
  TempDir dir("knockd-small-file");
  const std::string path = dir.path() + "/missing/knockd.pid";
  std::string err;
  CHECK_FALSE(knock::ReplaceSmallFile(path, "1\n", 0644, "pid file", &err));
  CHECK(err ==
        path + ": cannot write the pid file (No such file or directory)");
}
