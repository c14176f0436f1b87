#include "common/exclusive_create.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace knock {

namespace {

// Windows has neither flag: O_EXCL alone refuses an existing name there,
// and making a symlink takes a privilege an attacker there would not need
// this for.
#if defined(O_NOFOLLOW) && defined(O_CLOEXEC)
constexpr int kNoFollowNoInherit = O_NOFOLLOW | O_CLOEXEC;
#else
constexpr int kNoFollowNoInherit = 0;
#endif

}  // namespace

UniqueFd CreateExclusive(const std::string& path, mode_t mode) {
  constexpr int kFlags = O_WRONLY | O_CREAT | O_EXCL | kNoFollowNoInherit;
  UniqueFd fd(open(path.c_str(), kFlags, mode));
  if (!fd.valid() && errno == EEXIST && unlink(path.c_str()) == 0)
    fd.Reset(open(path.c_str(), kFlags, mode));
  return fd;
}

}  // namespace knock
