#include "common/private_directories.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace knock {

bool MakePrivateDirectories(const std::string& dir, std::string* err) {
  for (size_t slash = 0; slash != std::string::npos;) {
    slash = dir.find('/', slash + 1);
    const std::string prefix = dir.substr(0, slash);
    if (prefix.empty() || mkdir(prefix.c_str(), 0700) == 0 || errno == EEXIST)
      continue;
    *err = "cannot create the directory \"" + prefix + "\": " + strerror(errno);
    return false;
  }
  return true;
}

}  // namespace knock
