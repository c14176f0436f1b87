#include "knock/lib/user_dirs.h"

#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

namespace knock {

namespace {

std::string XdgDirectory(const char* variable, const char* fallback) {
  const char* value = getenv(variable);
  if (value != nullptr && value[0] == '/') return std::string(value) + "/knock";
  return HomeDirectory() + fallback + "/knock";
}

}  // namespace

std::string HomeDirectory() {
  const char* home = getenv("HOME");
  if (home != nullptr && home[0] != '\0') return home;
  const passwd* entry = getpwuid(getuid());
  if (entry != nullptr && entry->pw_dir != nullptr) return entry->pw_dir;
  return "/";
}

std::string ClientConfigDirectory() {
  return XdgDirectory("XDG_CONFIG_HOME", "/.config");
}

std::string ClientStateDirectory() {
  return XdgDirectory("XDG_STATE_HOME", "/.local/state");
}

}  // namespace knock
