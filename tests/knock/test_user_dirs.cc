// XDG base directories for the client's files.
#include <stdlib.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "knock/lib/client_state.h"
#include "knock/lib/user_dirs.h"

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
