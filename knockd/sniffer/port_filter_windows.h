#pragma once
// Which of the windows a table image holds the capture filter passes at a
// given time: the live ones always, the next one only shortly before its
// roll, the one just expired only while a sequence begun before the roll
// may still complete. The image holds 2·skew + 3 windows; a knock can use
// 2·skew + 1 of them at any moment.

#include <cstdint>
#include <vector>

#include "knockd/shared/sequence_table_image.h"
#include "knockd/shared/server_config.h"
#include "knockd/sniffer/port_filter_program.h"

namespace knock {

/// How far the filter reaches around the windows the matcher accepts.
struct FilterMargins {
  /// A window's ports pass this long before the roll that makes it live:
  /// the sniffer swaps the filter from its loop, which wakes at the change
  /// but may be late by a drain of the capture (milliseconds) or, should
  /// that wake-up be missed, by its 1 s timer period.
  int64_t lead_us = 0;
  /// A window's ports still pass this long after the roll that expired it:
  /// a sequence begun before the roll completes within seq_timeout of its
  /// first knock (the matcher forgets older knocks), and is then granted or
  /// named `expired_window` as before. Never more than a step: by then the
  /// matcher no longer holds the window at all.
  int64_t grace_us = 0;
};

/// The margins for `knock`: lead 1 s, grace seq_timeout, at most a step.
FilterMargins FilterMarginsOf(const KnockSettings& knock);

/// Windows [first, end).
struct WindowSpan {
  uint64_t first = 0;
  uint64_t end = 0;
  bool operator==(const WindowSpan& other) const = default;
};

/// The ports of each window of a table image (one bit per port of the
/// range, a few KiB whatever the number of clients), and the spec of the
/// windows a knock can use at a given time.
class PortFilterWindows {
 public:
  /// Replaces what it holds with the windows of `image`, for `knock`'s
  /// step, skew, seq_timeout and protocol.
  void Take(const SequenceTableImage& image, const KnockSettings& knock);
  bool empty() const { return window_count_ == 0; }

  /// The windows passed at `now_us` (unix microseconds): every window w
  /// with (w − skew)·step − lead ≤ now < (w + skew + 1)·step + grace, the
  /// span during which the matcher accepts w (or names it expired) widened
  /// by the margins; only the windows the image holds.
  WindowSpan WindowsAt(int64_t now_us) const;
  /// The spec of WindowsAt(now_us).
  PortFilterSpec SpecAt(int64_t now_us) const {
    return SpecOf(WindowsAt(now_us));
  }
  /// What passes for `windows`: the union of their ports (the whole range
  /// when the image has a bound owner), for the configured transports.
  PortFilterSpec SpecOf(const WindowSpan& windows) const;
  /// Every port of the range, for the configured transports: what passes
  /// for a bound owner, and the capture's fallback when the exact filter
  /// cannot be installed (it passes whatever any window may use).
  PortFilterSpec WholeRange() const;
  /// The first time after `now_us` at which WindowsAt may change.
  int64_t NextChangeUs(int64_t now_us) const;

 private:
  uint16_t first_port_ = 0;
  uint32_t range_size_ = 0;
  bool tcp_ = false;
  bool udp_ = false;
  bool any_bound_ = false;
  int64_t step_us_ = 1;
  int64_t skew_ = 0;
  FilterMargins margins_;
  uint64_t oldest_window_ = 0;
  uint64_t window_count_ = 0;
  /// window_count_ bitmaps of the range, words_per_window_ words each.
  size_t words_per_window_ = 0;
  std::vector<uint64_t> bits_;
};

/// Every port of every window `image` holds, for `protocol`: what the
/// filter would pass with no regard to time.
PortFilterSpec PortFilterSpecOf(const SequenceTableImage& image,
                                KnockProtocol protocol);

}  // namespace knock
