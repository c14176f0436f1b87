#pragma once
// Directories that hold keys and state: created private to their owner.

#include <string>

namespace knock {

/// Creates `dir` and any missing parents with mode 0700 (private to the
/// user); existing directories are left as they are.
bool MakePrivateDirectories(const std::string& dir, std::string* err);

}  // namespace knock
