#pragma once
// The grants already in the kernel when the helper starts: a restart keeps
// the table and its live elements, and a later flush must bring those back
// too, though this run never granted them.

#include <string>
#include <vector>

#include "knockd/shared/firewall.h"

namespace knock {

/// The elements of `nft -j list set inet T allowed4` (or allowed6) as
/// grants of one port each, `timeout_ms` being what is left (whole seconds,
/// rounded down: the kernel's JSON says no more). Client and service are
/// unknown: "earlier run" and the port ("tcp/22"). Elements without an
/// expiry are skipped. A listing that is not nft's JSON fails.
bool ParseNftablesGrantListing(const std::string& json_text,
                               std::vector<Grant>* grants, std::string* err);

/// Lists both allowed sets of `inet <table>` through libnftables. A table
/// that does not exist holds no grant: that is not an error.
bool ListNftablesGrants(const std::string& table, std::vector<Grant>* grants,
                        std::string* err);

}  // namespace knock
