#include "knockd/shared/replace_small_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/exclusive_create.h"

namespace knock {

bool ReplaceSmallFile(const std::string& path, const std::string& text,
                      mode_t mode, const std::string& what, std::string* err) {
  const std::string temp = path + ".tmp";
  // Never written through a file or symlink planted at the name: the
  // daemon may still be root when it writes.
  UniqueFd created = CreateExclusive(temp, mode);
  bool ok = created.valid() && write(created.get(), text.data(), text.size()) ==
                                   static_cast<ssize_t>(text.size());
  int error = errno;
  created.Reset();
  if (ok && rename(temp.c_str(), path.c_str()) != 0) {
    ok = false;
    error = errno;
  }
  if (ok) return true;
  *err = path + ": cannot write the " + what + " (" + strerror(error) + ")";
  unlink(temp.c_str());
  return false;
}

}  // namespace knock
