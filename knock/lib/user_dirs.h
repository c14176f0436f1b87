#pragma once
// Where the client keeps its files, following the XDG base directories:
// configuration under $XDG_CONFIG_HOME (~/.config), state under
// $XDG_STATE_HOME (~/.local/state).

#include <string>

namespace knock {

/// $HOME, or the password database's home directory when HOME is unset.
std::string HomeDirectory();

/// $XDG_CONFIG_HOME/knock, or ~/.config/knock. A relative XDG value is
/// ignored, as the XDG specification asks.
std::string ClientConfigDirectory();

/// $XDG_STATE_HOME/knock, or ~/.local/state/knock.
std::string ClientStateDirectory();

}  // namespace knock
