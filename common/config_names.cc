#include "common/config_names.h"

#include <cstddef>

namespace knock {

namespace {

constexpr size_t kMaxNameBytes = 64;

bool AllOf(std::string_view text, std::string_view extra, bool upper) {
  if (text.empty() || text.size() > kMaxNameBytes) return false;
  // A name reaches command lines (the command backend's placeholders, the
  // tools an administrator pipes logs into): one that starts with a dash
  // would be read there as an option.
  if (text.front() == '-') return false;
  for (char c : text) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              (upper && c >= 'A' && c <= 'Z') ||
              extra.find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

}  // namespace

bool IsServiceName(std::string_view name) { return AllOf(name, "_-", false); }

bool IsPeerName(std::string_view name) { return AllOf(name, "_.-", true); }

bool IsFirewallTableName(std::string_view name) {
  return AllOf(name, "_", true);
}

}  // namespace knock
