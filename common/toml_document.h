#pragma once
// The boundary between toml++ and the rest of the code: reading a file and
// parsing it into a table, with toml++'s exceptions turned into one-line
// "FILE:LINE:COL: message" errors so that none leaves common/.

#include <toml++/toml.h>

#include <string>

namespace knock {

/// Reads the whole file. The error reads "FILE: cannot read (reason)".
bool ReadConfigText(const std::string& path, std::string* text,
                    std::string* err);

/// Parses TOML text; `path` only names it in messages. A syntax error comes
/// back as "FILE:LINE:COL: " and toml++'s description.
bool ParseTomlDocument(const std::string& text, const std::string& path,
                       toml::table* out, std::string* err);

}  // namespace knock
