#include "knock/lib/user_dirs.h"

#include <stdlib.h>

#ifndef _WIN32
#include <pwd.h>
#include <unistd.h>
#endif

namespace knock {

namespace {

#ifdef _WIN32
// %APPDATA% and %LOCALAPPDATA% are set for every interactive user; the
// profile directory is the fallback Windows itself would use.
std::string WindowsDirectory(const char* variable, const char* fallback) {
  const char* value = getenv(variable);
  if (value != nullptr && value[0] != '\0')
    return std::string(value) + "\\knock";
  return HomeDirectory() + fallback + "\\knock";
}
#endif

[[maybe_unused]] std::string XdgDirectory(const char* variable,
                                          const char* fallback) {
  const char* value = getenv(variable);
  if (value != nullptr && value[0] == '/') return std::string(value) + "/knock";
  return HomeDirectory() + fallback + "/knock";
}

}  // namespace

std::string HomeDirectory() {
#ifdef _WIN32
  const char* profile = getenv("USERPROFILE");
  if (profile != nullptr && profile[0] != '\0') return profile;
  return "C:\\";
#else
  const char* home = getenv("HOME");
  if (home != nullptr && home[0] != '\0') return home;
  const passwd* entry = getpwuid(getuid());
  if (entry != nullptr && entry->pw_dir != nullptr) return entry->pw_dir;
  return "/";
#endif
}

std::string ClientConfigDirectory() {
#ifdef _WIN32
  return WindowsDirectory("APPDATA", "\\AppData\\Roaming");
#else
  return XdgDirectory("XDG_CONFIG_HOME", "/.config");
#endif
}

std::string ClientStateDirectory() {
#ifdef _WIN32
  return WindowsDirectory("LOCALAPPDATA", "\\AppData\\Local");
#else
  return XdgDirectory("XDG_STATE_HOME", "/.local/state");
#endif
}

std::string ClientFilePath(const std::string& directory,
                           const std::string& name) {
#ifdef _WIN32
  return directory + "\\" + name;
#else
  return directory + "/" + name;
#endif
}

}  // namespace knock
