#pragma once
// The firewall helper's second line of checks: a message that decoded
// cleanly must also make sense for the running configuration before the
// helper acts on it. A sniffer that sends anything else is compromised or
// broken, and the helper ends.

#include <cstdint>
#include <string>

#include "knockd/shared/privsep_message.h"
#include "knockd/shared/server_config.h"

namespace knock {

/// For kGrant and kRefusal: the client, service and slot exist, the client
/// may use the service, and the window is within skew + 2 windows behind
/// and skew + 1 ahead of `now_us` (the helper's clock; the matcher judges by
/// packet time, which trails it). For kGrant also: the timeout
/// is the service's open_for. Other messages pass. `err` quotes the value.
bool CheckSnifferRequest(const PrivsepMessage& message,
                         const ServerConfig& config, int64_t now_us,
                         std::string* err);

}  // namespace knock
