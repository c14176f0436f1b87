#include "common/config_error.h"

#include <sstream>

namespace knock {

std::string ConfigErrorAt(std::string_view path, uint32_t line, uint32_t column,
                          std::string_view message) {
  std::string text = std::string(path) + ":" + std::to_string(line) + ":" +
                     std::to_string(column) + ": " + std::string(message);
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

std::string ConfigError(std::string_view path, const toml::source_region& where,
                        std::string_view message) {
  // A node built in memory has no position; 1:1 still names the file.
  uint32_t line = where.begin.line == 0 ? 1 : where.begin.line;
  uint32_t column = where.begin.column == 0 ? 1 : where.begin.column;
  return ConfigErrorAt(path, line, column, message);
}

std::string DescribeTomlValue(const toml::node& node) {
  if (const auto* text = node.as_string()) return "\"" + text->get() + "\"";
  if (node.is_table()) return "a table";
  std::ostringstream out;
  node.visit([&out](const auto& value) { out << value; });
  return out.str();
}

std::string TomlTypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a floating-point number";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    default:
      return "a date or time";
  }
}

std::string DescribeTypeAndValue(const toml::node& node) {
  // A table's value is its whole body: naming the type says enough.
  if (node.is_table()) return "a table";
  return TomlTypeName(node) + " (" + DescribeTomlValue(node) + ")";
}

}  // namespace knock
