#pragma once
// The POSIX file calls common/ and the client make, available under the same
// names on Windows (mingw-w64), where a few are missing or spelled
// differently. Elsewhere it only includes the POSIX headers.

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <string>

#ifdef _WIN32
#include <direct.h>
#include <io.h>

// Every descriptor we open is private to this process and binary: Windows
// would otherwise translate line endings in key, config and state files.
#ifndef O_CLOEXEC
#define O_CLOEXEC (_O_NOINHERIT | _O_BINARY)
#endif
// No terminals, FIFOs or symbolic links to guard against in these opens.
#ifndef O_NOCTTY
#define O_NOCTTY 0
#endif
#ifndef O_NONBLOCK
#define O_NONBLOCK 0
#endif
#ifndef O_NOFOLLOW
#define O_NOFOLLOW 0
#endif

inline int fsync(int fd) { return _commit(fd); }
// Windows has no mode bits; a private file gets its ACL where it is created.
inline int fchmod(int, int) { return 0; }
inline int mkdir(const char* path, int) { return _mkdir(path); }
#else
#include <unistd.h>
#endif

namespace knock {

/// The position of the last directory separator in `path` ('/', and also
/// '\\' on Windows), or npos.
inline size_t LastPathSeparator(const std::string& path) {
#ifdef _WIN32
  return path.find_last_of("/\\");
#else
  return path.rfind('/');
#endif
}

/// Replaces `to` with `from` in one step (rename(); on Windows, where
/// rename() refuses an existing target, MoveFileEx with replace).
bool ReplaceFile(const std::string& from, const std::string& to);

}  // namespace knock
