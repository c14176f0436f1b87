#include "knockd/sniffer/port_filter_windows.h"

#include <algorithm>

namespace knock {

namespace {

constexpr int64_t kMicrosPerSecond = 1000000;
// The sniffer's loop wakes at the change (its poll timeout is cut to it)
// and swaps the filter in the same pass; a second covers a drain of the
// capture under a flood a thousand times over, and a whole timer period
// should the wake-up itself come late.
constexpr int64_t kFilterLeadUs = 1000000;

// Floor division: the window of a time, also before the epoch.
int64_t FloorDiv(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

}  // namespace

FilterMargins FilterMarginsOf(const KnockSettings& knock) {
  const int64_t step_us = knock.step_seconds * kMicrosPerSecond;
  return {kFilterLeadUs,
          std::clamp<int64_t>(knock.seq_timeout_ms * 1000, 0, step_us)};
}

void PortFilterWindows::Take(const SequenceTableImage& image,
                             const KnockSettings& knock) {
  first_port_ = image.first_port;
  range_size_ = image.range_size;
  tcp_ = knock.protocol != KnockProtocol::kUdp;
  udp_ = knock.protocol != KnockProtocol::kTcp;
  any_bound_ =
      std::any_of(image.owners.begin(), image.owners.end(),
                  [](const TableImageOwner& owner) { return owner.bound; });
  step_us_ = std::max<int64_t>(knock.step_seconds, 1) * kMicrosPerSecond;
  skew_ = std::max(knock.skew, 0);
  margins_ = FilterMarginsOf(knock);
  oldest_window_ = image.oldest_window;
  window_count_ = image.window_count;
  words_per_window_ = (range_size_ + 63) / 64;
  bits_.assign(window_count_ * words_per_window_, 0);
  const size_t per_window = image.owners.size() * image.count;
  for (uint64_t w = 0; w < window_count_; ++w) {
    uint64_t* words = bits_.data() + w * words_per_window_;
    const size_t begin = w * per_window;
    const size_t end = std::min(begin + per_window, image.ports.size());
    for (size_t i = begin; i < end; ++i) {
      const uint32_t bit = image.ports[i] - first_port_;
      words[bit / 64] |= uint64_t{1} << (bit % 64);
    }
  }
}

WindowSpan PortFilterWindows::WindowsAt(int64_t now_us) const {
  // Oldest: the window whose expiry (its (w + skew + 1)·step) was less than
  // grace ago; newest: the one that goes live within lead.
  const int64_t oldest = FloorDiv(now_us - margins_.grace_us, step_us_) - skew_;
  const int64_t newest = FloorDiv(now_us + margins_.lead_us, step_us_) + skew_;
  const uint64_t held_end = oldest_window_ + window_count_;
  if (newest < 0 || window_count_ == 0) return {};
  const uint64_t first = std::max(
      oldest_window_, static_cast<uint64_t>(std::max<int64_t>(oldest, 0)));
  const uint64_t end = std::min(held_end, static_cast<uint64_t>(newest) + 1);
  if (first >= end) return {};
  return {first, end};
}

PortFilterSpec PortFilterWindows::WholeRange() const {
  PortFilterSpec spec;
  spec.tcp = tcp_;
  spec.udp = udp_;
  for (uint32_t i = 0; i < range_size_; ++i)
    spec.ports.push_back(static_cast<uint16_t>(first_port_ + i));
  return spec;
}

PortFilterSpec PortFilterWindows::SpecOf(const WindowSpan& windows) const {
  PortFilterSpec spec;
  spec.tcp = tcp_;
  spec.udp = udp_;
  if (windows.first >= windows.end) return spec;
  // A bound sequence's tail (knock/v1 section 7) depends on the sender's
  // address, so its ports are in no table: the whole range passes.
  if (any_bound_) return WholeRange();
  std::vector<uint64_t> passed(words_per_window_, 0);
  for (uint64_t w = windows.first; w < windows.end; ++w) {
    const uint64_t* words =
        bits_.data() + (w - oldest_window_) * words_per_window_;
    for (size_t i = 0; i < words_per_window_; ++i) passed[i] |= words[i];
  }
  for (size_t i = 0; i < words_per_window_; ++i) {
    for (uint64_t word = passed[i]; word != 0; word &= word - 1) {
      const auto bit = static_cast<uint32_t>(i * 64 + __builtin_ctzll(word));
      spec.ports.push_back(static_cast<uint16_t>(first_port_ + bit));
    }
  }
  return spec;
}

int64_t PortFilterWindows::NextChangeUs(int64_t now_us) const {
  // The oldest window leaves once grace has passed after the next roll;
  // the next one joins lead before the roll after the one it waits for.
  const int64_t oldest_leaves =
      (FloorDiv(now_us - margins_.grace_us, step_us_) + 1) * step_us_ +
      margins_.grace_us;
  const int64_t newest_joins =
      (FloorDiv(now_us + margins_.lead_us, step_us_) + 1) * step_us_ -
      margins_.lead_us;
  return std::min(oldest_leaves, newest_joins);
}

PortFilterSpec PortFilterSpecOf(const SequenceTableImage& image,
                                KnockProtocol protocol) {
  KnockSettings knock;
  knock.protocol = protocol;
  PortFilterWindows windows;
  windows.Take(image, knock);
  return windows.SpecOf(
      {image.oldest_window, image.oldest_window + image.window_count});
}

}  // namespace knock
