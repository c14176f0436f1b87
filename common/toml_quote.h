#pragma once
// Quoting for the TOML stanzas the programs print for a user to paste
// (`knockd client-config`, `knock init`): every printed string and key goes
// through here, so a hostile host or name cannot break out of its value.

#include <string>
#include <string_view>

namespace knock {

/// A TOML basic string: `"h\"x"`. Quotes, backslashes and control
/// characters are escaped; valid UTF-8 passes through; a byte that is not
/// part of valid UTF-8 becomes U+FFFD, since a TOML document must be UTF-8.
std::string QuoteTomlString(std::string_view text);

/// A TOML key: bare (`alice`) when it is one of [A-Za-z0-9_-]+, else a
/// quoted key (`"a b]"`).
std::string QuoteTomlKey(std::string_view name);

/// True when `name` may be written as a bare TOML key.
bool IsBareTomlKey(std::string_view name);

}  // namespace knock
