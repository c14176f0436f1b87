#pragma once
// Sockets that would fall inside the knock range: the daemon refuses to
// start over them, because its drop rules would silently cut them off.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/port_range.h"
#include "common/transport.h"
#include "knockd/shared/server_config.h"

namespace knock {

/// One socket that listens (TCP) or is bound unconnected (UDP) on a port,
/// and the process holding it when it can be found.
struct Listener {
  Transport transport = Transport::kTcp;
  uint16_t port = 0;
  uint64_t inode = 0;
  int pid = 0;          // 0 when no process we can see holds it
  std::string process;  // /proc/PID/comm, empty when unknown
};

/// Parses the text of /proc/net/tcp or tcp6 (`transport` kTcp: sockets in
/// state 0A, LISTEN) or /proc/net/udp or udp6 (kUdp: sockets whose remote
/// address and port are zero, i.e. bound and unconnected) and appends those
/// whose local port is in `range`, without pid. `source` names the text in
/// errors: `malformed line in /proc/net/tcp: "..."`.
bool ParseProcNetListeners(std::string_view text, Transport transport,
                           const PortRange& range, const std::string& source,
                           std::vector<Listener>* out, std::string* err);

/// Fills in pid and process name by finding "socket:[INODE]" among the
/// /proc/PID/fd links. Best effort: processes may vanish meanwhile, and
/// other users' are hidden from an unprivileged caller.
void FindListenerProcesses(std::vector<Listener>* listeners);

/// The sockets of this network namespace that `protocol`'s drop rules
/// would hit in `range`: TCP listeners for kTcp, UDP sockets for kUdp,
/// both for kBoth. A missing tcp6/udp6 file (IPv6 disabled) is no error.
bool FindListenersInRange(const PortRange& range, KnockProtocol protocol,
                          std::vector<Listener>* out, std::string* err);

/// Why the daemon will not start, on one line:
/// `knock range 16384-32767 holds a listening socket: tcp/20000 (pid 1234
/// nc); move the service or the knock range`. Identical entries (a process
/// listening on IPv4 and IPv6) are named once.
std::string FormatListenerRefusal(const PortRange& range,
                                  const std::vector<Listener>& listeners);

}  // namespace knock
