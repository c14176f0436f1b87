#pragma once
// The server's table of expected sequences (knock/v1 section 4): every
// client x allowed service x window x slot, derived ahead of time so that no
// cryptography runs per packet, indexed by port.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/ip_address.h"
#include "common/knock_sequence.h"
#include "common/pair_key.h"
#include "knockd/shared/sequence_ids.h"
#include "knockd/shared/sequence_owner.h"
#include "knockd/shared/sequence_table_image.h"
#include "knockd/shared/server_config.h"

namespace knock {

/// One expected sequence as the table lends it out: its ports (in sending
/// order, a view into the table, valid until the next Init or RollTo) and
/// its owner.
struct ExpectedSequence {
  SequenceOwner owner;
  std::span<const uint16_t> ports;
  /// True for the window just behind the accepted span: still recognised so
  /// that a late knock is refused by name instead of looking like noise.
  bool expired = false;
};

/// Expected sequences for the windows [w - skew - 1, w + skew], rolled
/// forward as time passes, with a port -> sequences index. A keyed table
/// (Init) derives its windows itself: the firewall helper's. A table fed
/// images (Load) holds no key and derives nothing: the sniffer's; rolling
/// it only chooses which of the windows it was handed are live. Every window
/// holds the same owners in the same order, so the ports live in one flat
/// array (window, owner, knock) and a sequence id is window * owners + owner:
/// a million sequences cost 2 bytes a port and no allocation each.
class SequenceTable {
 public:
  /// Derives every client's pair key with `server_key`. Fails on a key that
  /// gives an all-zero secret (naming the first such client) or a shape no
  /// sequence fits.
  bool Init(const ServerConfig& config, const PrivateKey& server_key,
            std::string* err);
  /// Takes the port tables of `image` instead of deriving them; fails,
  /// naming the field, unless the image fits `config` (range, count, skew,
  /// and every owner a client, service and slot it has). On failure the
  /// table is unchanged. The table then holds no key.
  bool Load(const ServerConfig& config, SequenceTableImage image,
            std::string* err);
  /// Makes `current_window` the centre of the table. A keyed table derives
  /// only windows that were not there before; a loaded one indexes the held
  /// windows within [current - skew - 1, current + skew]. Returns true if
  /// anything changed.
  bool RollTo(uint64_t current_window);
  /// A keyed table also holds this many windows beyond current + skew
  /// (derived, not indexed): the helper hands them over before they start.
  void set_windows_ahead(uint64_t windows) { windows_ahead_ = windows; }
  /// Without an index (the helper's), SequencesWith finds nothing.
  void set_indexed(bool indexed) { indexed_ = indexed; }
  /// The held windows' tables and owners, for the sniffer.
  SequenceTableImage Image() const;
  /// Derives `owner`'s sequence anew into `out` (count() ports), for any
  /// window. Keyed tables only; false for an owner the table does not have.
  bool Derive(const SequenceOwner& owner, uint16_t* out) const;
  /// A bound owner's tail for `bound_to` (knock/v1 section 7), distinct from
  /// `head`. Keyed tables only.
  bool DeriveTail(const SequenceOwner& owner, const IpAddress& bound_to,
                  std::span<const uint16_t> head,
                  std::vector<uint16_t>* tail) const;
  bool keyed() const { return keyed_; }
  /// How many threads Init and RollTo derive on; 0 (the default) is one per
  /// core. The table is the same bit for bit whatever the number.
  void set_threads(unsigned threads) { threads_ = threads; }

  /// Sequences that contain `port`, ascending (empty outside the knock
  /// range).
  SequenceIds SequencesWith(uint16_t port) const {
    if (!range_.Contains(port) || index_offsets_.empty()) return {};
    const uint32_t i = port - range_.first;
    return {index_units_.data() + index_offsets_[i],
            index_units_.data() + index_offsets_[i + 1]};
  }
  /// Prefetching for a batch of knocks, in three steps each a pass over
  /// the batch (knock_pipeline.cc): where `port`'s ids start, the ids, then
  /// the ports of the sequences they name, the lines SequencesWith and
  /// Ports read. Only hints: they change nothing.
  void PrefetchOffsets(uint16_t port) const;
  void PrefetchIds(uint16_t port) const;
  void PrefetchPortsWith(uint16_t port) const;
  /// The ports of sequence `id`, in sending order: the matcher's hot path.
  std::span<const uint16_t> Ports(uint32_t id) const {
    return {ports_.data() + size_t{id} * count_, count_};
  }
  ExpectedSequence sequence(uint32_t id) const;
  size_t size() const { return window_count_ * owners_.size(); }
  uint64_t current_window() const { return current_window_; }
  bool rolled() const { return rolled_; }
  int count() const { return shape_.count; }
  /// Bytes the table holds (ports, index, owners, pair keys).
  size_t MemoryBytes() const;

 private:
  /// A sequence's owner within one window; the window is its block's.
  struct WindowOwner {
    uint32_t client = 0;
    uint32_t service = 0;
    uint8_t slot = 0;
    bool bound = false;
  };
  bool DerivePairKeys(const ServerConfig& config, const PrivateKey& server_key,
                      std::string* err);
  /// Derives `windows`, each into its block (window - oldest_window_).
  void DeriveWindows(const std::vector<uint64_t>& windows);
  void RebuildIndex();
  /// The blocks (window - oldest_window_) that are live at current_window_.
  void LiveBlocks(size_t* first, size_t* end) const;

  SequenceShape shape_;
  size_t count_ = 0;
  PortRange range_;
  uint64_t skew_ = 1;
  unsigned threads_ = 0;
  uint64_t windows_ahead_ = 0;
  bool keyed_ = false;
  bool indexed_ = true;
  std::vector<std::string> service_names_;
  std::vector<PairKey> pair_keys_;
  /// The owners of one window, in id order: client, then its services in
  /// configuration order, then slot.
  std::vector<WindowOwner> owners_;
  uint64_t current_window_ = 0;
  bool rolled_ = false;
  uint64_t oldest_window_ = 0;
  size_t window_count_ = 0;
  /// window_count_ blocks of owners_.size() sequences of count_ ports.
  std::vector<uint16_t> ports_;
  /// Per port, where its ids start in index_units_ (SequenceIds encoding).
  std::vector<uint32_t> index_offsets_;
  std::vector<uint16_t> index_units_;
};

}  // namespace knock
