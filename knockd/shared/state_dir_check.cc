#include "knockd/shared/state_dir_check.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/file_owner.h"

namespace knock {

namespace {

std::string ModeText(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

}  // namespace

bool CheckStateDirectory(const std::string& path,
                         const std::string& daemon_user, std::string* err) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) {
    *err = path + ": cannot use the state directory: " + strerror(errno);
    return false;
  }
  if (!S_ISDIR(info.st_mode)) {
    *err = path + ": the state directory is not a directory";
    return false;
  }
  if (!CheckFileOwner(path, "state directory", info.st_uid,
                      AccountUid(daemon_user), err))
    return false;
  // Reading is harmless (the secrets in it are files of mode 0600); writing
  // would let another account replace or plant entries.
  if ((info.st_mode & 022) != 0) {
    const char* who = (info.st_mode & 002) != 0 ? "others" : "its group";
    *err = path + ": state directory is writable by " + who + " (mode " +
           ModeText(info.st_mode) + "); run: chmod 700 " + path;
    return false;
  }
  return true;
}

}  // namespace knock
