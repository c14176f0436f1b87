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
#include "portable_test_support.h"
#include "scoped_env.h"

#ifdef _WIN32
TEST_CASE("Windows keeps configuration under APPDATA, state under LOCALAPPDATA",
          "[user_dirs]") {
  ScopedEnv env;
  env.Set("USERPROFILE", "C:\\Users\\alice");
  env.Set("APPDATA", "C:\\Users\\alice\\AppData\\Roaming");
  env.Set("LOCALAPPDATA", "C:\\Users\\alice\\AppData\\Local");
  env.Set("XDG_CONFIG_HOME", "C:\\x");  // not a Windows convention
  CHECK(knock::ClientConfigDirectory() ==
        "C:\\Users\\alice\\AppData\\Roaming\\knock");
  CHECK(knock::ClientStateDirectory() ==
        "C:\\Users\\alice\\AppData\\Local\\knock");
  CHECK(knock::DefaultClientStatePath() ==
        "C:\\Users\\alice\\AppData\\Local\\knock\\used");
  // Without them, the profile's own folders.
  env.Set("APPDATA", nullptr);
  env.Set("LOCALAPPDATA", nullptr);
  CHECK(knock::ClientConfigDirectory() ==
        "C:\\Users\\alice\\AppData\\Roaming\\knock");
  CHECK(knock::ClientStateDirectory() ==
        "C:\\Users\\alice\\AppData\\Local\\knock");
}
#else
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
#endif
