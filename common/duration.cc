#include "common/duration.h"

namespace knock {

namespace {

// Ten years: longer than anything sensible, and far from int64 overflow.
constexpr int64_t kMaxDurationMs = int64_t{10} * 365 * 24 * 3600 * 1000;

/// A duration suffix and how many milliseconds one of it is.
struct Unit {
  std::string_view suffix;
  int64_t ms;
};

constexpr Unit kUnits[] = {
    {"ms", 1}, {"s", 1000}, {"m", 60 * 1000}, {"h", 3600 * 1000}};

bool Fail(std::string_view text, const char* why, std::string* err) {
  *err = "not a duration \"" + std::string(text) + "\" (" + why + ")";
  return false;
}

}  // namespace

bool ParseDurationMs(std::string_view text, int64_t* out_ms, std::string* err) {
  size_t digits = 0;
  int64_t number = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
    // Saturate rather than overflow; the limit check below rejects it.
    if (number <= kMaxDurationMs) number = number * 10 + (text[digits] - '0');
    ++digits;
  }
  if (digits == 0) {
    return Fail(text, "a positive whole number, then ms, s, m or h", err);
  }
  std::string_view suffix = text.substr(digits);
  for (const Unit& unit : kUnits) {
    if (suffix != unit.suffix) continue;
    if (number == 0) return Fail(text, "it must be positive", err);
    if (number > kMaxDurationMs / unit.ms) {
      return Fail(text, "at most 87600h", err);
    }
    *out_ms = number * unit.ms;
    return true;
  }
  return Fail(text, "use ms, s, m or h", err);
}

std::string FormatDurationMs(int64_t ms) {
  if (ms != 0 && ms % (3600 * 1000) == 0) {
    return std::to_string(ms / (3600 * 1000)) + "h";
  }
  if (ms != 0 && ms % (60 * 1000) == 0) {
    return std::to_string(ms / (60 * 1000)) + "m";
  }
  if (ms != 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace knock
