#include "common/exclusive_create.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace knock {

UniqueFd CreateExclusive(const std::string& path, mode_t mode) {
  constexpr int kFlags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  UniqueFd fd(open(path.c_str(), kFlags, mode));
  if (!fd.valid() && errno == EEXIST && unlink(path.c_str()) == 0)
    fd.Reset(open(path.c_str(), kFlags, mode));
  return fd;
}

}  // namespace knock
