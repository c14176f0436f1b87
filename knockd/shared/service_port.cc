#include "knockd/shared/service_port.h"

#include "common/port_range.h"

namespace knock {

std::string ServicePort::ToString() const {
  return std::string(TransportName(transport)) + "/" + std::to_string(port);
}

bool ParseServicePort(std::string_view text, ServicePort* out,
                      std::string* err) {
  const std::string quoted = "\"" + std::string(text) + "\"";
  size_t slash = text.find('/');
  std::string_view proto = text.substr(0, slash);
  Transport transport = Transport::kTcp;
  if (slash == std::string_view::npos) {
    *err = "not a service port " + quoted + " (use tcp/PORT or udp/PORT)";
    return false;
  }
  if (proto == "tcp") {
    transport = Transport::kTcp;
  } else if (proto == "udp") {
    transport = Transport::kUdp;
  } else {
    *err = "not a service port " + quoted + " (use tcp/PORT or udp/PORT)";
    return false;
  }
  // One port, not a range: a grant names exact ports.
  std::string_view port_text = text.substr(slash + 1);
  PortRange range;
  std::string range_err;
  if (port_text.find('-') != std::string_view::npos ||
      !ParsePortRange(port_text, &range, &range_err)) {
    *err = "not a service port " + quoted + " (the port is one of 1-65535)";
    return false;
  }
  out->transport = transport;
  out->port = range.first;
  return true;
}

}  // namespace knock
