#pragma once
// Temporary files for atomic saves (write, then rename over the real one):
// created new, never opened through whatever was planted at the name.

#include <sys/types.h>

#include <string>

#include "common/unique_fd.h"

namespace knock {

/// Creates `path` for writing with O_CREAT|O_EXCL|O_NOFOLLOW, so that an
/// existing file or a symlink at the name is never written through. One
/// left there (a crash between create and rename) is unlinked first and the
/// create tried once more: unlink removes a symlink itself, not its target.
/// Invalid (errno set) on failure.
UniqueFd CreateExclusive(const std::string& path, mode_t mode);

}  // namespace knock
