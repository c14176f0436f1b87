#pragma once
// Where configuration errors point: "FILE:LINE:COL: message", one line, with
// the position of the offending value as toml++ recorded it.

#include <toml++/toml.h>

#include <string>
#include <string_view>

namespace knock {

/// "FILE:LINE:COL: message", with any line break in `message` turned into a
/// space so that the result is always one line.
std::string ConfigErrorAt(std::string_view path, uint32_t line, uint32_t column,
                          std::string_view message);

/// The same at the start of a toml++ source region.
std::string ConfigError(std::string_view path, const toml::source_region& where,
                        std::string_view message);

/// A TOML value as a message quotes it: strings in double quotes, numbers
/// and booleans as written, arrays in TOML syntax, tables as "a table".
std::string DescribeTomlValue(const toml::node& node);

/// "a string", "an integer", ... for "must be X, not Y" messages.
std::string TomlTypeName(const toml::node& node);

/// "an integer (5)": the type and the value, for "must be X, not ..." messages.
std::string DescribeTypeAndValue(const toml::node& node);

}  // namespace knock
