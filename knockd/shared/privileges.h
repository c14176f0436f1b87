#pragma once
// Giving up power after setup: keep only the capabilities the packet loop
// needs and forbid regaining any through exec.

#include <string>
#include <vector>

namespace knock {

/// Keeps `capabilities` (CAP_* numbers) in the permitted and effective sets,
/// drops every other one from all sets and from the bounding set, and sets
/// no_new_privs. Fails with a message naming the step that failed.
bool KeepOnlyCapabilities(const std::vector<int>& capabilities,
                          std::string* err);

/// Drops every capability but `capabilities` from the bounding set (needs
/// CAP_SETPCAP, so it comes before SetCapabilities).
bool DropBoundingSetExcept(const std::vector<int>& capabilities,
                           std::string* err);

/// Makes the permitted and effective sets exactly `capabilities` and clears
/// the ambient set.
bool SetCapabilities(const std::vector<int>& capabilities, std::string* err);

/// The effective capability mask of this process, from /proc/self/status.
bool EffectiveCapabilities(unsigned long long* mask, std::string* err);

}  // namespace knock
