#include "common/config_table.h"

#include <algorithm>

#include "common/config_error.h"
#include "common/did_you_mean.h"
#include "common/duration.h"

namespace knock {

namespace {

std::string Quote(std::string_view text) {
  return "\"" + std::string(text) + "\"";
}

// `"a", "b" or "c"` for messages that list the accepted values.
std::string ListChoices(const std::vector<std::string_view>& choices) {
  std::string text;
  for (size_t i = 0; i < choices.size(); ++i) {
    if (i > 0) text += i + 1 == choices.size() ? " or " : ", ";
    text += Quote(choices[i]);
  }
  return text;
}

bool Before(const toml::source_position& a, const toml::source_position& b) {
  return a.line != b.line ? a.line < b.line : a.column < b.column;
}

}  // namespace

std::vector<const toml::key*> KeysInFileOrder(const toml::table& table) {
  std::vector<const toml::key*> keys;
  for (auto&& [key, value] : table) keys.push_back(&key);
  std::stable_sort(keys.begin(), keys.end(),
                   [](const toml::key* a, const toml::key* b) {
                     return Before(a->source().begin, b->source().begin);
                   });
  return keys;
}

ConfigTable::ConfigTable(std::string_view path, const toml::table& table,
                         std::string dotted_name, std::string label,
                         std::string* err)
    : path_(path),
      table_(table),
      dotted_name_(std::move(dotted_name)),
      label_(std::move(label)),
      err_(err) {}

bool ConfigTable::CheckKeys(const std::vector<std::string_view>& known) const {
  for (const toml::key* key : KeysInFileOrder(table_)) {
    std::string_view name = key->str();
    if (std::find(known.begin(), known.end(), name) != known.end()) continue;
    std::string message = "unknown key " + Quote(name) + " " + label_;
    std::string suggestion = DidYouMean(name, known);
    if (!suggestion.empty()) {
      message += "; did you mean " + Quote(suggestion) + "?";
    }
    return Fail(key->source(), message);
  }
  return true;
}

const toml::node* ConfigTable::Find(std::string_view key) const {
  return table_.get(key);
}

std::string ConfigTable::Name(std::string_view key) const {
  if (dotted_name_.empty()) return std::string(key);
  return dotted_name_ + "." + std::string(key);
}

toml::source_region ConfigTable::Where(std::string_view key) const {
  const toml::node* node = Find(key);
  return node != nullptr ? node->source() : table_.source();
}

std::string ConfigTable::At(const toml::source_region& where,
                            std::string_view message) const {
  return ConfigError(path_, where, message);
}

bool ConfigTable::Fail(const toml::source_region& where,
                       std::string_view message) const {
  *err_ = At(where, message);
  return false;
}

bool ConfigTable::FailMissing(std::string_view key) const {
  return Fail(table_.source(), "missing key " + Quote(key) + " " + label_);
}

bool ConfigTable::FailType(std::string_view key, const toml::node& node,
                           std::string_view wanted) const {
  return Fail(node.source(), Name(key) + " must be " + std::string(wanted) +
                                 ", not " + DescribeTypeAndValue(node));
}

bool ConfigTable::String(std::string_view key, bool required,
                         std::string* out) const {
  const toml::node* node = Find(key);
  if (node == nullptr) return required ? FailMissing(key) : true;
  const auto* text = node->as_string();
  if (text == nullptr) return FailType(key, *node, "a string");
  if (text->get().empty()) {
    return Fail(node->source(), Name(key) + " must not be empty (\"\")");
  }
  *out = text->get();
  return true;
}

bool ConfigTable::Bool(std::string_view key, bool* out) const {
  const toml::node* node = Find(key);
  if (node == nullptr) return true;
  const auto* value = node->as_boolean();
  if (value == nullptr) return FailType(key, *node, "true or false");
  *out = value->get();
  return true;
}

bool ConfigTable::Integer(std::string_view key, int64_t min, int64_t max,
                          int64_t* out) const {
  const toml::node* node = Find(key);
  if (node == nullptr) return true;
  const auto* value = node->as_integer();
  if (value == nullptr) return FailType(key, *node, "an integer");
  int64_t number = value->get();
  if (number < min || number > max) {
    std::string bounds = max == INT64_MAX ? "at least " + std::to_string(min)
                                          : "between " + std::to_string(min) +
                                                " and " + std::to_string(max);
    return Fail(node->source(), Name(key) + " must be " + bounds + " (" +
                                    std::to_string(number) + ")");
  }
  *out = number;
  return true;
}

bool ConfigTable::Choice(std::string_view key,
                         const std::vector<std::string_view>& choices,
                         std::string* out) const {
  const toml::node* node = Find(key);
  if (node == nullptr) return true;
  const auto* text = node->as_string();
  if (text == nullptr) return FailType(key, *node, ListChoices(choices));
  if (std::find(choices.begin(), choices.end(), text->get()) == choices.end()) {
    return Fail(node->source(), Name(key) + " must be " + ListChoices(choices) +
                                    " (" + Quote(text->get()) + ")");
  }
  *out = text->get();
  return true;
}

bool ConfigTable::DurationMs(std::string_view key, int64_t* out_ms) const {
  const toml::node* node = Find(key);
  if (node == nullptr) return true;
  const auto* text = node->as_string();
  if (text == nullptr) {
    return FailType(key, *node, "a duration string such as \"30s\"");
  }
  std::string parse_err;
  if (!ParseDurationMs(text->get(), out_ms, &parse_err)) {
    return Fail(node->source(), Name(key) + ": " + parse_err);
  }
  return true;
}

bool ConfigTable::Ports(std::string_view key, PortRange* out) const {
  const toml::node* node = Find(key);
  if (node == nullptr) return true;
  const auto* text = node->as_string();
  if (text == nullptr) {
    return FailType(key, *node, "a port range string such as \"16384-32767\"");
  }
  std::string parse_err;
  if (!ParsePortRange(text->get(), out, &parse_err)) {
    return Fail(node->source(), Name(key) + ": " + parse_err);
  }
  return true;
}

bool ConfigTable::StringList(std::string_view key, bool required,
                             std::vector<TomlString>* out) const {
  const toml::node* node = Find(key);
  if (node == nullptr) return required ? FailMissing(key) : true;
  const auto* array = node->as_array();
  if (array == nullptr) return FailType(key, *node, "an array of strings");
  if (array->empty()) {
    return Fail(node->source(), Name(key) + " must not be empty ([])");
  }
  std::vector<TomlString> strings;
  for (const toml::node& element : *array) {
    const auto* text = element.as_string();
    if (text == nullptr) {
      return Fail(element.source(), Name(key) + " must hold strings, not " +
                                        DescribeTypeAndValue(element));
    }
    if (text->get().empty()) {
      return Fail(element.source(),
                  Name(key) + " must not hold an empty string (\"\")");
    }
    strings.push_back({text->get(), element.source()});
  }
  *out = std::move(strings);
  return true;
}

bool ConfigTable::Table(std::string_view key, const toml::table** out) const {
  const toml::node* node = Find(key);
  *out = nullptr;
  if (node == nullptr) return true;
  *out = node->as_table();
  if (*out == nullptr) return FailType(key, *node, "a table");
  return true;
}

}  // namespace knock
