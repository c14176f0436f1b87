#pragma once
// The names a configuration gives things, and what characters each may use:
// service names go into the knock/v1 hash, client and server names into
// logs and command lines, table names into nftables. No name starts with a
// dash, so that none can become an option on a command line.

#include <string_view>

namespace knock {

/// 1-64 bytes of [a-z0-9_-], not starting with '-' (knock/v1 section 3
/// hashes it).
bool IsServiceName(std::string_view name);

/// 1-64 bytes of [A-Za-z0-9_.-], not starting with '-': a [[client]] name
/// or a [server.NAME].
bool IsPeerName(std::string_view name);

/// 1-64 bytes of [A-Za-z0-9_], not starting with '-' (none of these can):
/// an nftables table the daemon owns.
bool IsFirewallTableName(std::string_view name);

}  // namespace knock
