#pragma once
// The daemon's small state files that other programs read while it runs
// (the pid file, the answer to a reload): replaced whole, never half
// written, never written through whatever was planted at the name.

#include <sys/types.h>

#include <string>

namespace knock {

/// Writes `text` to "<path>.tmp" (created O_EXCL|O_NOFOLLOW with `mode`)
/// and renames it over `path`: readers see the old or the new content. On
/// failure `err` is "PATH: cannot write the WHAT (reason)" and the
/// temporary file is gone.
bool ReplaceSmallFile(const std::string& path, const std::string& text,
                      mode_t mode, const std::string& what, std::string* err);

}  // namespace knock
