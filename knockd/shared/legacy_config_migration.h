#pragma once
// `knockd migrate`: reading knockd 0.8's knockd.conf (an INI file of
// [options] and one section per door) and writing the knockd.toml that
// protects the same ports, with a comment for everything that cannot
// carry over. Its static sequences cannot: anyone who saw one can replay
// it, so every user moves to a key.

#include <string>
#include <vector>

namespace knock {

/// One section of knockd.conf: its name and its "key = value" lines
/// (keys lowercased, as knockd 0.8 reads them case-insensitively), each
/// with the line it came from.
struct LegacySection {
  std::string name;
  int line = 0;
  struct Entry {
    std::string key;
    std::string value;
    int line = 0;
  };
  std::vector<Entry> entries;
  /// The value of `key`, or "" when absent.
  std::string Get(const std::string& key) const;
};

/// Parses knockd.conf's text. `path` only names it in messages:
/// "FILE:LINE: what is wrong (the line)".
bool ParseLegacyConfig(const std::string& text, const std::string& path,
                       std::vector<LegacySection>* out, std::string* err);

/// The knockd.toml for `sections`, read from `path`, as text with comments.
std::string MigrateLegacyConfig(const std::vector<LegacySection>& sections,
                                const std::string& path);

}  // namespace knock
