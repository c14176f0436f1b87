#pragma once
// The few POSIX calls the portable unit tests use, for the Windows build of
// the tests (knock_client_tests.exe under wine); elsewhere the system's own.

#include <stdlib.h>

#ifdef _WIN32
#include <fcntl.h>
#include <io.h>

#include <cstdio>
#include <filesystem>
#include <random>
#include <string>

/// mkdtemp(): the pattern's X's replaced, the directory made, under the
/// system's temporary directory instead of "/tmp".
inline char* mkdtemp(char* pattern) {
  static std::mt19937_64 random{std::random_device{}()};
  std::string text = pattern;
  const size_t slash = text.find_last_of('/');
  const std::string name = text.substr(slash + 1);
  for (int tries = 0; tries < 100; ++tries) {
    std::string unique = name;
    for (char& c : unique)
      if (c == 'X') c = "abcdefghijklmnopqrstuvwxyz0123456789"[random() % 36];
    const std::string path =
        (std::filesystem::temp_directory_path() / unique).generic_string();
    std::error_code error;
    if (std::filesystem::create_directory(path, error)) {
      // The caller's buffer holds the pattern; the new path may be longer.
      static thread_local std::string result;
      result = path;
      return result.data();
    }
  }
  return nullptr;
}

inline int setenv(const char* name, const char* value, int) {
  return _putenv_s(name, value);
}
inline int unsetenv(const char* name) { return _putenv_s(name, ""); }
inline int pipe(int fds[2]) { return _pipe(fds, 65536, _O_BINARY); }
#endif
