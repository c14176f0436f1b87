#pragma once
// Protected service ports such as "tcp/22" or "udp/53".

#include <cstdint>
#include <string>
#include <string_view>

#include "common/transport.h"

namespace knock {

/// One port of a protected service, with its transport.
struct ServicePort {
  Transport transport = Transport::kTcp;
  uint16_t port = 0;
  std::string ToString() const;
  bool operator==(const ServicePort& other) const = default;
};

/// Parses "tcp/22" or "udp/53"; the error quotes the text.
bool ParseServicePort(std::string_view text, ServicePort* out,
                      std::string* err);

}  // namespace knock
