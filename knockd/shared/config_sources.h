#pragma once
// The files knockd's configuration is made of: knockd.toml and the drop-ins
// beside it (services.d/*.toml, clients.d/*.toml, one file per service or
// client as configuration management writes them), read in name order, and
// the bundle that carries all of them to the sniffer on reload.

#include <string>
#include <string_view>
#include <vector>

namespace knock {

/// What one file of the configuration may hold.
enum class ConfigFileKind { kMain, kServices, kClients };

/// One file of the configuration: where it is and what it says.
struct ConfigFile {
  ConfigFileKind kind = ConfigFileKind::kMain;
  std::string path;
  std::string text;
};

/// knockd.toml first, then services.d in name order, then clients.d in name
/// order: the order a configuration is read in.
struct ConfigSources {
  std::vector<ConfigFile> files;
};

/// "<directory of main_path>/services.d" or ".../clients.d".
std::string DropInDirectory(const std::string& main_path, ConfigFileKind kind);

/// Reads `main_path` and every drop-in beside it. A drop-in is a file whose
/// name ends in ".toml" and does not start with "." (editors' and
/// configuration management's temporary files do); a missing directory
/// holds none. The whole configuration is bounded to 64 MiB.
bool ReadConfigSources(const std::string& main_path, ConfigSources* out,
                       std::string* err);

/// The bundle the helper seals into a memfd for the sniffer: every file
/// with its kind and path, so that the sniffer reads exactly what the
/// helper validated.
std::string EncodeConfigSources(const ConfigSources& sources);
/// Reads a bundle back; anything malformed is refused.
bool DecodeConfigSources(std::string_view bundle, ConfigSources* out,
                         std::string* err);

}  // namespace knock
