#include "common/private_directories.h"

#include <cerrno>
#include <cstring>

#include "common/portable_file.h"

namespace knock {

bool MakePrivateDirectories(const std::string& dir, std::string* err) {
  for (size_t slash = 0; slash != std::string::npos;) {
#ifdef _WIN32
    slash = dir.find_first_of("/\\", slash + 1);
#else
    slash = dir.find('/', slash + 1);
#endif
    const std::string prefix = dir.substr(0, slash);
    if (prefix.empty() || mkdir(prefix.c_str(), 0700) == 0 || errno == EEXIST)
      continue;
#ifdef _WIN32
    // "C:" and other roots refuse mkdir without being missing.
    struct stat info {};
    if (stat(prefix.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) continue;
#endif
    *err = "cannot create the directory \"" + prefix + "\": " + strerror(errno);
    return false;
  }
  return true;
}

}  // namespace knock
