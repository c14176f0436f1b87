#pragma once
// Environment variables changed for one test case only.

#include <stdlib.h>

#include <map>
#include <optional>
#include <string>

#include "portable_test_support.h"

/// Sets or unsets environment variables for one test case and puts each
/// one back as it was when the object goes, so tests never leak into each
/// other (or into the build's environment).
class ScopedEnv {
 public:
  ScopedEnv() = default;
  /// The usual case: one variable set (or, with nullptr, unset).
  ScopedEnv(const std::string& name, const char* value) { Set(name, value); }
  ~ScopedEnv() {
    for (auto& [name, value] : saved_)
      value ? setenv(name.c_str(), value->c_str(), 1) : unsetenv(name.c_str());
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

  /// Sets `name` to `value`, or unsets it when `value` is nullptr.
  void Set(const std::string& name, const char* value) {
    if (saved_.count(name) == 0) {
      const char* old = getenv(name.c_str());
      saved_[name] = old ? std::optional<std::string>(old) : std::nullopt;
    }
    value ? setenv(name.c_str(), value, 1) : unsetenv(name.c_str());
  }

 private:
  std::map<std::string, std::optional<std::string>> saved_;
};
