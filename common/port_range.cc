#include "common/port_range.h"

#include <charconv>

namespace knock {

namespace {

// Digits only: no sign, no spaces, no leading "+", so "0x10" and " 22" fail.
bool ParsePort(std::string_view text, uint32_t* out) {
  if (text.empty() || text.size() > 5) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  uint32_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  *out = value;
  return true;
}

bool Fail(std::string_view text, const char* why, std::string* err) {
  *err = "not a port range \"" + std::string(text) + "\" (" + why + ")";
  return false;
}

}  // namespace

std::string PortRange::ToString() const {
  if (first == last) return std::to_string(first);
  return std::to_string(first) + "-" + std::to_string(last);
}

bool ParsePortRange(std::string_view text, PortRange* out, std::string* err) {
  size_t dash = text.find('-');
  std::string_view first_text = text.substr(0, dash);
  std::string_view last_text =
      dash == std::string_view::npos ? first_text : text.substr(dash + 1);
  uint32_t first = 0;
  uint32_t last = 0;
  if (!ParsePort(first_text, &first) || !ParsePort(last_text, &last)) {
    return Fail(text, "use FIRST-LAST, such as 16384-32767", err);
  }
  if (first < 1 || first > 65535 || last < 1 || last > 65535) {
    return Fail(text, "ports are 1-65535", err);
  }
  if (first > last) return Fail(text, "the first port is above the last", err);
  out->first = static_cast<uint16_t>(first);
  out->last = static_cast<uint16_t>(last);
  return true;
}

}  // namespace knock
