#pragma once
// Durations in configuration files and on command lines: "250ms", "30s",
// "5m", "1h".

#include <cstdint>
#include <string>
#include <string_view>

namespace knock {

/// Parses a positive whole number followed by ms, s, m or h into
/// milliseconds. The error quotes the text: `not a duration "30x" (use ms, s,
/// m or h)`.
bool ParseDurationMs(std::string_view text, int64_t* out_ms, std::string* err);

/// Formats milliseconds the shortest exact way: 30000 -> "30s".
std::string FormatDurationMs(int64_t ms);

}  // namespace knock
