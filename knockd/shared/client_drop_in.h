#pragma once
// `knockd client add` and `remove`: one clients.d/NAME.toml per client,
// written the way configuration management would, and only when the whole
// configuration stays valid with it.

#include <string>
#include <vector>

namespace knock {

/// What `knockd client add` asks for.
struct NewClient {
  std::string name;
  std::string public_key;  // the 44-character text form
  /// Empty: every service the configuration defines.
  std::vector<std::string> services;
};

/// The drop-in's text for one client.
std::string ClientDropInText(const std::string& name,
                             const std::string& public_key,
                             const std::vector<std::string>& services);

/// Writes <dir of config_path>/clients.d/NAME.toml (0640, the group of
/// config_path, written to a temporary name and linked into place so that a
/// reader never sees half a file and an existing file is never replaced).
/// Refuses a bad name, a bad key, a taken name or key, an unknown service,
/// or a configuration that is already broken. `path` is the file written;
/// `state_dir` the configuration's, for the reload.
bool AddClientDropIn(const std::string& config_path, const NewClient& client,
                     std::string* path, std::string* state_dir,
                     std::string* err);

/// Removes the clients.d drop-in that defines client `name`; refuses a
/// client defined in knockd.toml or in a drop-in that defines others too.
bool RemoveClientDropIn(const std::string& config_path, const std::string& name,
                        std::string* path, std::string* state_dir,
                        std::string* err);

}  // namespace knock
