// XDG base directories for the client's files, and private directories.
#include <stdlib.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "common/client_state.h"
#include "common/user_dirs.h"

namespace {

/// Sets environment variables for one test and puts them back afterwards.
class ScopedEnv {
 public:
  ~ScopedEnv() {
    for (auto& [name, value] : saved_)
      value ? setenv(name.c_str(), value->c_str(), 1) : unsetenv(name.c_str());
  }
  void Set(const std::string& name, const char* value) {
    if (saved_.count(name) == 0) {
      const char* old = getenv(name.c_str());
      saved_[name] = old ? std::optional<std::string>(old) : std::nullopt;
    }
    value ? setenv(name.c_str(), value, 1) : unsetenv(name.c_str());
  }

 private:
  std::map<std::string, std::optional<std::string>> saved_;
};

}  // namespace

TEST_CASE("XDG directories with HOME as the fallback", "[user_dirs]") {
  ScopedEnv env;
  env.Set("HOME", "/home/alice");
  env.Set("XDG_CONFIG_HOME", "/x/config");
  env.Set("XDG_STATE_HOME", "/x/state");
  CHECK(knock::ClientConfigDirectory() == "/x/config/knock");
  CHECK(knock::ClientStateDirectory() == "/x/state/knock");
  CHECK(knock::DefaultClientStatePath() == "/x/state/knock/used");

  // The XDG specification: a relative value is invalid and ignored.
  env.Set("XDG_CONFIG_HOME", "relative");
  env.Set("XDG_STATE_HOME", nullptr);
  CHECK(knock::ClientConfigDirectory() == "/home/alice/.config/knock");
  CHECK(knock::ClientStateDirectory() == "/home/alice/.local/state/knock");
  CHECK(knock::HomeDirectory() == "/home/alice");
}

TEST_CASE("private directories are made with their parents in mode 0700",
          "[user_dirs]") {
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
