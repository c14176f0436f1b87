#pragma once
// The seam to whatever enforces grants: nftables, an administrator's
// command, or nothing (dry runs, `knockd replay`, tests).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/ip_address.h"
#include "common/port_range.h"
#include "knockd/shared/sequence_owner.h"
#include "knockd/shared/server_config.h"
#include "knockd/shared/service_port.h"

namespace knock {

/// What the firewall must hide: the protected ports of every service and the
/// knock range, in which protocols.
struct FirewallLayout {
  std::vector<ServicePort> protected_ports;
  PortRange knock_range;
  KnockProtocol knock_protocol = KnockProtocol::kTcp;
};

/// One hole: `source` may open new connections to `ports` for `timeout_ms`.
/// Client and service travel along for commands' placeholders and logs.
struct Grant {
  IpAddress source;
  std::vector<ServicePort> ports;
  int64_t timeout_ms = 0;
  std::string client;
  std::string service;
  /// The sequence that earned the hole; the privilege-separated daemon's
  /// helper checks it against the used set.
  SequenceOwner owner;
  /// Its ports as the sniffer saw them: the helper derives the sequence
  /// anew and compares.
  std::vector<uint16_t> sequence_ports;
};

/// Enforces grants. Implementations: NftablesFirewall, CommandFirewall,
/// NoFirewall; tests use a recording fake.
class Firewall {
 public:
  virtual ~Firewall() = default;
  /// Installs (idempotently) the fail-closed rules for `layout`.
  virtual bool Setup(const FirewallLayout& layout, std::string* err) = 0;
  /// Opens a hole, or extends a live one to `grant.timeout_ms` from now.
  virtual bool Open(const Grant& grant, std::string* err) = 0;
  /// Lets a backend that closes holes itself do so; `now_ms` is wall time.
  virtual void Tick(int64_t now_ms) { (void)now_ms; }
  /// Failures that happened where no error could be returned (a close
  /// command run by Tick), oldest first, for the daemon to log; clears them.
  virtual std::vector<std::string> TakeErrors() { return {}; }
  /// Removes everything the daemon installed.
  virtual bool Flush(std::string* err) = 0;
  /// A short name for logs: "nftables", "command", "none".
  virtual const char* Name() const = 0;
};

/// The layout a configuration asks for.
FirewallLayout LayoutFor(const ServerConfig& config);

}  // namespace knock
