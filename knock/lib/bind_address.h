#pragma once
// Which address a bound knock (knock/v1 section 7) is for: a literal the
// user gives (the outer address behind NAT), or "auto", the local address
// the route to the server would use.

#include <string>
#include <string_view>

#include "common/ip_address.h"
#include "knock/lib/knock_sender.h"

namespace knock {

/// The value that asks for the route's own source address.
inline constexpr std::string_view kBindAuto = "auto";

/// True for "auto" or an IPv4/IPv6 literal; `err` quotes anything else:
/// `must be "auto" or an IP address ("example.org")`.
bool CheckBindAddress(std::string_view text, std::string* err);

/// The source address the kernel would pick for packets to `server`: a UDP
/// socket is connected (which sends nothing) and asked its name.
bool LocalAddressTowards(const ResolvedAddress& server, IpAddress* out,
                         std::string* err);

/// `bind` ("auto" or a literal) as the address to bind to; "auto" asks the
/// route to `server`.
bool ResolveBindAddress(std::string_view bind, const ResolvedAddress& server,
                        IpAddress* out, std::string* err);

}  // namespace knock
