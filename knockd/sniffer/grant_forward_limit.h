#pragma once
// How often one sequence may make the sniffer ask the helper for a grant.
// A copied bound head (knock/v1 section 7) completes for every spoofed
// source that replays it, and only the helper can tell the client's from a
// copy; a known unbound sequence replayed from its first source refreshes
// on every completion. Without a limit either turns one sniffed knock into
// a stream of grant requests that fills the queue to the helper, and other
// clients' grants are dropped.

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "common/ip_address.h"
#include "knockd/shared/replay_store.h"

namespace knock {

/// Per sequence (client, service, window, slot): the sources whose
/// completion went to the helper, at most kMaxSourcesPerSequence of them,
/// each at most once per kMinIntervalUs. When they are all taken, a source
/// that started the sequence earlier than one of them takes its place: the
/// client's first knock is on the wire before anyone can copy it, so copies
/// that complete first (sent faster, from closer) cannot crowd it out. A
/// flood of copies costs the helper a few checks per second per sequence.
class GrantForwardLimit {
 public:
  static constexpr size_t kMaxSourcesPerSequence = 8;
  static constexpr int64_t kMinIntervalUs = 1000000;

  /// True (and remembered) when `source`'s completion of `key` at `now_us`,
  /// whose first knock came at `started_us`, may go to the helper.
  bool Admit(const UsedKey& key, const IpAddress& source, int64_t now_us,
             int64_t started_us);
  /// Forgets sequences of windows before `oldest_window`.
  void PruneBefore(uint64_t oldest_window);
  size_t sequences() const { return forwarded_.size(); }

 private:
  struct Forwarded {
    IpAddress source;
    int64_t last_us = 0;
    int64_t started_us = 0;
  };
  std::unordered_map<UsedKey, std::vector<Forwarded>, UsedKeyHash> forwarded_;
};

}  // namespace knock
