#pragma once
// knockd's configuration (TOML), validated completely at load: a daemon
// never runs half-configured.

#include <cstdint>
#include <string>
#include <vector>

#include "common/port_range.h"
#include "common/transport.h"
#include "common/x25519_key.h"
#include "knockd/shared/config_sources.h"
#include "knockd/shared/service_port.h"

namespace knock {

/// The [knock] table: the shape of sequences and how the matcher tolerates
/// real networks.
struct KnockSettings {
  PortRange ports{16384, 32767};
  int count = 8;
  KnockProtocol protocol = KnockProtocol::kTcp;
  int64_t step_seconds = 30;
  int skew = 1;
  int slots = 4;
  /// 8: room for a second laptop behind the same NAT address knocking at
  /// the same moment (its 8 knocks are unrelated to this sequence).
  int slack = 8;
  int64_t seq_timeout_ms = 10000;
  uint32_t max_sources = 65536;
};

/// One [service.NAME] table: what a grant opens and for how long.
struct ServiceSettings {
  std::string name;
  std::vector<ServicePort> ports;
  int64_t open_for_ms = 30000;
  /// knock/v1 section 7: accept address-bound sequences for this service
  /// (every client), and refuse unbound ones (require implies allow).
  bool allow_bound = false;
  bool require_bound = false;
};

/// One [[client]]: a key that may open some services.
struct ClientSettings {
  std::string name;
  PublicKey public_key;
  std::vector<std::string> services;
  /// As for a service, for every service of this client.
  bool allow_bound = false;
  bool require_bound = false;
};

/// Whether `client` may knock bound sequences for `service`: either allows
/// or requires them.
bool AllowsBound(const ClientSettings& client, const ServiceSettings& service);
/// Whether an unbound sequence of `client` for `service` is refused.
bool RequiresBound(const ClientSettings& client,
                   const ServiceSettings& service);

enum class FirewallBackend { kNftables, kCommand, kNone };

/// The [firewall] table: what enforces grants.
struct FirewallSettings {
  FirewallBackend backend = FirewallBackend::kNftables;
  std::string table = "knockd";
  std::vector<std::string> open_command;
  std::vector<std::string> close_command;
};

/// The whole server configuration after validation.
struct ServerConfig {
  std::string path;
  std::string private_key_file;
  std::string state_dir = "/var/lib/knockd";
  /// The unprivileged account the packet sniffer runs as.
  std::string user = "knockd";
  std::string audit_log = "/var/log/knockd/audit.jsonl";
  /// The audit sealing state (`knockd audit init`); after loading never
  /// empty: it defaults to "<state_dir>/audit.key".
  std::string audit_key_file;
  /// Rotate the audit log once it holds this many bytes; 0: only when
  /// logrotate moves it.
  int64_t audit_max_bytes = 0;
  std::vector<std::string> interfaces{"any"};
  std::string log_level = "info";  // "debug", "info", "warning", "error"
  bool syslog = false;
  /// node_exporter's textfile collector reads it; empty: no metrics.
  std::string metrics_file;
  KnockSettings knock;
  FirewallSettings firewall;
  std::vector<ServiceSettings> services;
  std::vector<ClientSettings> clients;
  /// The file that defines each client, by index: knockd.toml or a
  /// clients.d drop-in.
  std::vector<std::string> client_sources;
  /// Things that are allowed but probably wrong, as "FILE:LINE:COL: ..." lines.
  std::vector<std::string> warnings;

  const ServiceSettings* FindService(const std::string& name) const;
  const ClientSettings* FindClient(const std::string& name) const;
  /// The file that defines `client`, one of `clients`.
  const std::string& SourceOf(const ClientSettings& client) const {
    return client_sources[&client - clients.data()];
  }
};

/// Reads and validates `path` and its drop-ins (services.d/*.toml and
/// clients.d/*.toml beside it). On failure `err` is one line,
/// "FILE:LINE:COL: what is wrong (the value)".
bool LoadServerConfig(const std::string& path, ServerConfig* out,
                      std::string* err);
/// The same from text already in memory; `path` only names it in messages.
bool ParseServerConfig(const std::string& text, const std::string& path,
                       ServerConfig* out, std::string* err);
/// The same from knockd.toml and its drop-ins already in memory: the main
/// file first, then services.d files, then clients.d files. A service or
/// client named twice, in one file or two, is refused at the second place
/// with the first named.
bool ParseServerConfigSources(const ConfigSources& sources, ServerConfig* out,
                              std::string* err);

}  // namespace knock
