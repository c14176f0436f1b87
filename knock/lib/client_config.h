#pragma once
// knock's configuration (TOML): the laptop's key and the servers it knows.

#include <string>
#include <vector>

#include "common/port_range.h"
#include "common/transport.h"
#include "common/x25519_key.h"

namespace knock {

/// One [server.NAME] table: where a server is and how it expects knocks.
struct ServerEntry {
  std::string name;
  std::string host;
  PublicKey public_key;
  PortRange ports{16384, 32767};
  int count = 8;
  KnockProtocol protocol = KnockProtocol::kTcp;
  int64_t step_seconds = 30;
  int slots = 4;
  std::string service = "ssh";
  /// knock/v1 section 7: "" sends unbound sequences; "auto" or an address
  /// binds them to it (the outer address behind NAT).
  std::string bind_address;
};

/// The whole client configuration after validation.
struct ClientConfig {
  std::string path;
  std::string private_key_file = "~/.config/knock/private.key";
  std::vector<ServerEntry> servers;

  const ServerEntry* FindServer(const std::string& name) const;
};

/// Reads and validates `path`; errors as for LoadServerConfig.
bool LoadClientConfig(const std::string& path, ClientConfig* out,
                      std::string* err);
bool ParseClientConfig(const std::string& text, const std::string& path,
                       ClientConfig* out, std::string* err);

/// "~/x" -> "$HOME/x"; anything else unchanged.
std::string ExpandHome(const std::string& path);

}  // namespace knock
