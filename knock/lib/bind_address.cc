#include "knock/lib/bind_address.h"

#include <cstring>

#include "knock/lib/socket_portable.h"

namespace knock {

namespace {

// Any port will do: a UDP connect() only picks a route and sends nothing.
constexpr uint16_t kRouteProbePort = 9;

}  // namespace

bool CheckBindAddress(std::string_view text, std::string* err) {
  if (text == kBindAuto) return true;
  IpAddress address;
  std::string parse_err;
  if (IpAddress::Parse(text, &address, &parse_err)) return true;
  *err = "must be \"auto\" or an IP address (\"" + std::string(text) + "\")";
  return false;
}

bool LocalAddressTowards(const ResolvedAddress& server, IpAddress* out,
                         std::string* err) {
  StartSockets();
  const ResolvedAddress target = WithPort(server, kRouteProbePort);
  int error = 0;
  SocketHandle socket =
      OpenNonBlockingSocket(target.family(), SOCK_DGRAM, 0, &error);
  if (socket == kNoSocket) {
    *err = "cannot open a socket to find the route to " + server.ToString() +
           ": " + SocketErrorText(error);
    return false;
  }
  error =
      StartConnect(socket, reinterpret_cast<const sockaddr*>(&target.storage),
                   target.length);
  sockaddr_storage local{};
  socklen_t length = sizeof local;
  if (error == 0 &&
      getsockname(socket, reinterpret_cast<sockaddr*>(&local), &length) != 0)
    error = LastSocketError();
  CloseSocket(socket);
  if (error != 0) {
    *err = "no route to " + server.ToString() +
           " to bind to: " + SocketErrorText(error);
    return false;
  }
  if (local.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&local);
    *out = IpAddress::V4(reinterpret_cast<const uint8_t*>(&v4->sin_addr));
    return true;
  }
  if (local.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&local);
    *out = IpAddress::V6(reinterpret_cast<const uint8_t*>(&v6->sin6_addr));
    return true;
  }
  *err = "the route to " + server.ToString() + " has no IP source address";
  return false;
}

bool ResolveBindAddress(std::string_view bind, const ResolvedAddress& server,
                        IpAddress* out, std::string* err) {
  if (bind == kBindAuto) return LocalAddressTowards(server, out, err);
  if (IpAddress::Parse(bind, out, err)) return true;
  *err = "--bind: " + *err;
  return false;
}

}  // namespace knock
