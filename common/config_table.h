#pragma once
// Typed, validated reads from one table of a TOML configuration file, shared
// by knockd's and knock's loaders so that every value is checked the same
// way and every problem reads "FILE:LINE:COL: what is wrong (the value)".

#include <toml++/toml.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/port_range.h"

namespace knock {

/// A string from the file with the place it was written, so that a later
/// cross-check (a duplicate, an unknown service) can still point at it.
struct TomlString {
  std::string text;
  toml::source_region where;
};

/// One TOML table being read. Every method that can fail sets the error
/// (already prefixed with FILE:LINE:COL) and returns false; an absent
/// optional key leaves the output at its default.
class ConfigTable {
 public:
  /// `dotted_name` prefixes key names in messages ("knock" gives
  /// "knock.count"); `label` says where the table is ("in [knock]").
  ConfigTable(std::string_view path, const toml::table& table,
              std::string dotted_name, std::string label, std::string* err);

  /// A reader for a sub-table that reports into the same error.
  ConfigTable Child(const toml::table& table, std::string dotted_name,
                    std::string label) const {
    return ConfigTable(path_, table, std::move(dotted_name), std::move(label),
                       err_);
  }

  /// Refuses any key not in `known`, suggesting the nearest known key.
  bool CheckKeys(const std::vector<std::string_view>& known) const;

  const toml::node* Find(std::string_view key) const;
  /// "knock.count" for "count".
  std::string Name(std::string_view key) const;
  /// Where the key's value is, or the table itself when the key is absent.
  toml::source_region Where(std::string_view key) const;
  /// "FILE:LINE:COL: message" at `where`, for errors and warnings alike.
  std::string At(const toml::source_region& where,
                 std::string_view message) const;
  /// Sets the error to At(where, message); returns false.
  bool Fail(const toml::source_region& where, std::string_view message) const;
  /// `missing key "host" in [server.x]` at the table.
  bool FailMissing(std::string_view key) const;

  /// A non-empty string. Absent is fine unless `required`.
  bool String(std::string_view key, bool required, std::string* out) const;
  bool Bool(std::string_view key, bool* out) const;
  /// An integer within [min, max].
  bool Integer(std::string_view key, int64_t min, int64_t max,
               int64_t* out) const;
  template <typename T>
  bool Integer(std::string_view key, int64_t min, int64_t max, T* out) const {
    int64_t value = static_cast<int64_t>(*out);
    if (!Integer(key, min, max, &value)) return false;
    *out = static_cast<T>(value);
    return true;
  }
  /// A string that is one of `choices`.
  bool Choice(std::string_view key,
              const std::vector<std::string_view>& choices,
              std::string* out) const;
  /// A duration string ("30s") in milliseconds.
  bool DurationMs(std::string_view key, int64_t* out_ms) const;
  /// A port range string ("16384-32767").
  bool Ports(std::string_view key, PortRange* out) const;
  /// A non-empty array of non-empty strings. Absent is fine unless
  /// `required` (then `out` is left empty).
  bool StringList(std::string_view key, bool required,
                  std::vector<TomlString>* out) const;
  /// A sub-table, or nullptr when absent.
  bool Table(std::string_view key, const toml::table** out) const;

  const toml::table& table() const { return table_; }
  const std::string& path() const { return path_; }

 private:
  bool FailType(std::string_view key, const toml::node& node,
                std::string_view wanted) const;

  std::string path_;
  const toml::table& table_;
  std::string dotted_name_;
  std::string label_;
  std::string* err_;
};

/// The keys of `table` in the order they were written (toml++ keeps them
/// sorted), so that the first problem reported is the first in the file.
std::vector<const toml::key*> KeysInFileOrder(const toml::table& table);

}  // namespace knock
