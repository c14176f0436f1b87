#include "knockd/helper/sniffer_request_check.h"

#include <algorithm>
#include <cstdint>

#include "common/knock_sequence.h"

namespace knock {

namespace {

constexpr int64_t kMicrosPerSecond = 1000000;
// Beyond, the second in microseconds would not fit an int64_t.
constexpr int64_t kMaxSummarySecond = INT64_MAX / kMicrosPerSecond;

bool Refuse(const PrivsepMessage& message, const std::string& what,
            std::string* err) {
  *err = std::string(PrivsepMessageName(static_cast<uint8_t>(message.type))) +
         " message: " + what;
  return false;
}

// The owner's window must be one AcceptedWindows(at_us) holds.
bool CheckWindow(const PrivsepMessage& message, const ServerConfig& config,
                 int64_t at_us, const std::string& at_text, std::string* err) {
  const uint64_t window = message.owner.window;
  const WindowSpan span = AcceptedWindows(at_us, config.knock);
  if (window >= span.oldest && window <= span.newest) return true;
  return Refuse(message,
                "window " + std::to_string(window) + " is outside " +
                    std::to_string(span.oldest) + "-" +
                    std::to_string(span.newest) + at_text,
                err);
}

bool CheckOwner(const PrivsepMessage& message, const ServerConfig& config,
                int64_t now_us, std::string* err) {
  const SequenceOwner& owner = message.owner;
  if (owner.client >= config.clients.size())
    return Refuse(message,
                  "client " + std::to_string(owner.client) + " of " +
                      std::to_string(config.clients.size()),
                  err);
  if (owner.service >= config.services.size())
    return Refuse(message,
                  "service " + std::to_string(owner.service) + " of " +
                      std::to_string(config.services.size()),
                  err);
  const ClientSettings& client = config.clients[owner.client];
  const ServiceSettings& service = config.services[owner.service];
  if (std::find(client.services.begin(), client.services.end(), service.name) ==
      client.services.end())
    return Refuse(
        message,
        "client " + client.name + " may not open service " + service.name, err);
  if (owner.slot >= config.knock.slots)
    return Refuse(message,
                  "slot " + std::to_string(owner.slot) + " of " +
                      std::to_string(config.knock.slots),
                  err);
  // A summary goes out once its second is over, possibly after a clock
  // step: its window is checked against its own second (the sniffer's
  // clock when it counted the refusals), not against the helper's now.
  if (message.type == PrivsepMessageType::kRefusalSummary) {
    const int64_t second = message.summary.second;
    if (second > kMaxSummarySecond)
      return Refuse(message, "second " + std::to_string(second), err);
    return CheckWindow(message, config, second * kMicrosPerSecond,
                       " around its second " + std::to_string(second), err);
  }
  return CheckWindow(message, config, now_us, "", err);
}

}  // namespace

WindowSpan AcceptedWindows(int64_t now_us, const KnockSettings& knock) {
  // Packet time (the sniffer's) trails the helper's clock: a sequence of the
  // window just behind skew (refused as expired) may be reported after the
  // window turned. One more window either way absorbs that lag and a small
  // clock step; the used set, which keeps all of them, stops reuse.
  const uint64_t now_window =
      WindowAt(now_us / kMicrosPerSecond, knock.step_seconds);
  const uint64_t reach = static_cast<uint64_t>(knock.skew) + 2;
  return {now_window > reach ? now_window - reach : 0, now_window + reach - 1};
}

bool CheckSnifferRequest(const PrivsepMessage& message,
                         const ServerConfig& config, int64_t now_us,
                         std::string* err) {
  if (message.type != PrivsepMessageType::kGrant &&
      message.type != PrivsepMessageType::kRefusal &&
      message.type != PrivsepMessageType::kRefusalSummary)
    return true;
  if (!CheckOwner(message, config, now_us, err)) return false;
  if (message.type != PrivsepMessageType::kGrant) return true;
  const ServiceSettings& service = config.services[message.owner.service];
  if (static_cast<int64_t>(message.timeout_ms) != service.open_for_ms)
    return Refuse(message,
                  "timeout " + std::to_string(message.timeout_ms) +
                      " ms, but service " + service.name + " opens for " +
                      std::to_string(service.open_for_ms) + " ms",
                  err);
  return true;
}

}  // namespace knock
