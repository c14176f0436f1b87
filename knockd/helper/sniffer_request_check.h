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

/// The windows whose sequences the helper acts on, inclusive.
struct WindowSpan {
  uint64_t oldest = 0;
  uint64_t newest = 0;
};

/// The windows within skew + 2 behind and skew + 1 ahead of `now_us`: the
/// matcher's span (skew either way, and the expired one behind) widened by
/// one window each way, because packet time (the sniffer's) trails the
/// helper's clock and a clock may step a little. The helper's used set
/// keeps every one of them, so no window it accepts can be granted twice.
WindowSpan AcceptedWindows(int64_t now_us, const KnockSettings& knock);

/// For kGrant, kRefusal and kRefusalSummary: the client, service and slot
/// exist, the client may use the service, and the window is within
/// AcceptedWindows of `now_us`, for a summary of its own second (sent once
/// that second is over, maybe after a clock step). For kGrant also: the
/// timeout is the service's open_for. Other messages pass. `err` quotes the
/// value.
bool CheckSnifferRequest(const PrivsepMessage& message,
                         const ServerConfig& config, int64_t now_us,
                         std::string* err);

}  // namespace knock
