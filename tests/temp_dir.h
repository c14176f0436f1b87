#pragma once
// A scratch directory for one test case.

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>

#include "portable_test_support.h"

/// A new directory /tmp/PREFIX.XXXXXX (mkdtemp), removed with everything in
/// it when the test case ends, passed or failed: one per test, so that
/// tests never see each other's files.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix) {
    std::string pattern = "/tmp/" + prefix + ".XXXXXX";
    const char* made = mkdtemp(pattern.data());
    REQUIRE(made != nullptr);
    path_ = made;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  /// `name` inside the directory.
  std::string File(const std::string& name) const { return path_ + "/" + name; }
  /// Writes an executable script `name` (mode 0755); returns its path.
  std::string Script(const std::string& name, const std::string& text) const {
    const std::string file = File(name);
    std::ofstream(file) << text;
    std::filesystem::permissions(file, std::filesystem::perms(0755));
    return file;
  }
  /// The whole of file `name`; empty when there is none.
  std::string Read(const std::string& name) const {
    std::ifstream in(File(name));
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }

 private:
  std::string path_;
};
