#pragma once
// The server's table of expected sequences (knock/v1 section 4): every
// client x allowed service x window x slot, derived ahead of time so that no
// cryptography runs per packet, indexed by port.

#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <vector>

#include "common/knock_sequence.h"
#include "common/pair_key.h"
#include "common/server_config.h"

namespace knock {

/// Who a sequence belongs to and what it opens.
struct SequenceOwner {
  uint32_t client = 0;   // index into ServerConfig::clients
  uint32_t service = 0;  // index into ServerConfig::services
  uint64_t window = 0;
  uint8_t slot = 0;
};

/// One expected sequence: its ports (in sending order) and its owner.
struct ExpectedSequence {
  SequenceOwner owner;
  std::vector<uint16_t> ports;
  /// True for the window just behind the accepted span: still recognised so
  /// that a late knock is refused by name instead of looking like noise.
  bool expired = false;
};

/// Expected sequences for the windows [w - skew - 1, w + skew], rolled
/// forward as time passes, with a port -> sequences index.
class SequenceTable {
 public:
  /// Derives every client's pair key with `server_key`. Fails on a key that
  /// gives an all-zero secret.
  bool Init(const ServerConfig& config, const PrivateKey& server_key,
            std::string* err);
  /// Makes `current_window` the centre of the table; derives only windows
  /// that were not there before. Returns true if anything changed.
  bool RollTo(uint64_t current_window);

  /// Sequences that contain `port` (empty outside the knock range).
  std::span<const uint32_t> SequencesWith(uint16_t port) const {
    if (!range_.Contains(port)) return {};
    const uint32_t i = port - range_.first;
    return {index_ids_.data() + index_offsets_[i],
            index_offsets_[i + 1] - index_offsets_[i]};
  }
  const ExpectedSequence& sequence(uint32_t id) const { return *flat_[id]; }
  size_t size() const { return flat_.size(); }
  uint64_t current_window() const { return current_window_; }
  bool rolled() const { return rolled_; }
  int count() const { return shape_.count; }

 private:
  struct WindowSequences {
    uint64_t window = 0;
    std::vector<ExpectedSequence> sequences;
  };
  WindowSequences DeriveWindow(uint64_t window) const;
  void RebuildIndex();

  SequenceShape shape_;
  PortRange range_;
  int skew_ = 1;
  int slots_ = 1;
  std::vector<std::string> service_names_;
  /// Per client: the services it may open, as indices.
  std::vector<std::vector<uint32_t>> client_services_;
  std::vector<PairKey> pair_keys_;
  uint64_t current_window_ = 0;
  bool rolled_ = false;
  std::deque<WindowSequences> windows_;
  std::vector<const ExpectedSequence*> flat_;
  std::vector<uint32_t> index_offsets_;
  std::vector<uint32_t> index_ids_;
};

}  // namespace knock
