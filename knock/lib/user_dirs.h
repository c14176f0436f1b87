#pragma once
// Where the client keeps its files, following the XDG base directories:
// configuration under $XDG_CONFIG_HOME (~/.config), state under
// $XDG_STATE_HOME (~/.local/state); macOS and the BSDs too, as most
// command-line tools there do. On Windows: configuration under
// %APPDATA%\knock, state under %LOCALAPPDATA%\knock.

#include <string>

namespace knock {

/// $HOME, or the password database's home directory when HOME is unset
/// (on Windows %USERPROFILE%).
std::string HomeDirectory();

/// $XDG_CONFIG_HOME/knock, or ~/.config/knock. A relative XDG value is
/// ignored, as the XDG specification asks. Windows: %APPDATA%\knock.
std::string ClientConfigDirectory();

/// $XDG_STATE_HOME/knock, or ~/.local/state/knock. Windows:
/// %LOCALAPPDATA%\knock.
std::string ClientStateDirectory();

/// `name` inside `directory`, with the system's separator.
std::string ClientFilePath(const std::string& directory,
                           const std::string& name);

}  // namespace knock
