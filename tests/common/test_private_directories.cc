// Private directories for keys and state.
#include <stdlib.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <string>

#include "common/private_directories.h"

TEST_CASE("private directories are made with their parents in mode 0700",
          "[private_directories]") {
  char pattern[] = "/tmp/knock-dirs-test-XXXXXX";
  REQUIRE(mkdtemp(pattern) != nullptr);
  const std::string base = pattern;
  std::string err;
  REQUIRE(knock::MakePrivateDirectories(base + "/a/b/c", &err));
  REQUIRE(knock::MakePrivateDirectories(base + "/a/b/c", &err));
  struct stat info {};
  REQUIRE(stat((base + "/a").c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0700);
  REQUIRE(stat((base + "/a/b/c").c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0700);

  {
    FILE* f = fopen((base + "/file").c_str(), "w");
    fclose(f);
  }
  CHECK_FALSE(knock::MakePrivateDirectories(base + "/file/x", &err));
  CHECK(err ==
        "cannot create the directory \"" + base + "/file/x\": Not a directory");
  std::filesystem::remove_all(base);
}
