#pragma once
// The port index of the sequence table stores, per port, the ascending ids
// of the sequences holding it as 16-bit gaps: half the memory of 32-bit ids
// (5 MB instead of 10 for 10,000 clients), read in one forward pass.

#include <cstddef>
#include <cstdint>
#include <iterator>

namespace knock {

/// Encoding of one id after the previous one (0 before the first): the gap
/// in one unit, or kSequenceIdEscape then the id's high and low halves when
/// the gap does not fit.
constexpr uint16_t kSequenceIdEscape = 0xFFFF;

/// Appends the encoding of `id` (after `previous`) at `out`; returns the
/// units written. With `out` null, only counts them.
inline size_t EncodeSequenceId(uint32_t previous, uint32_t id, uint16_t* out) {
  const uint32_t gap = id - previous;
  if (gap < kSequenceIdEscape) {
    if (out != nullptr) out[0] = static_cast<uint16_t>(gap);
    return 1;
  }
  if (out != nullptr) {
    out[0] = kSequenceIdEscape;
    out[1] = static_cast<uint16_t>(id >> 16);
    out[2] = static_cast<uint16_t>(id);
  }
  return 3;
}

/// The ids of the sequences holding one port, ascending: a range over the
/// encoded units that decodes as it goes.
class SequenceIds {
 public:
  /// Forward iteration, decoding one id per step.
  class Iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = uint32_t;
    using difference_type = std::ptrdiff_t;
    using pointer = const uint32_t*;
    using reference = uint32_t;

    Iterator() = default;
    Iterator(const uint16_t* at, const uint16_t* end) : at_(at), end_(end) {
      Decode(0);
    }
    uint32_t operator*() const { return id_; }
    Iterator& operator++() {
      at_ = next_;
      Decode(id_);
      return *this;
    }
    Iterator operator++(int) {
      Iterator before = *this;
      ++*this;
      return before;
    }
    bool operator==(const Iterator& other) const { return at_ == other.at_; }

   private:
    void Decode(uint32_t previous) {
      if (at_ == end_) return;
      if (*at_ != kSequenceIdEscape) {
        id_ = previous + *at_;
        next_ = at_ + 1;
      } else {
        id_ = (uint32_t{at_[1]} << 16) | at_[2];
        next_ = at_ + 3;
      }
    }
    const uint16_t* at_ = nullptr;
    const uint16_t* end_ = nullptr;
    const uint16_t* next_ = nullptr;
    uint32_t id_ = 0;
  };

  SequenceIds() = default;
  SequenceIds(const uint16_t* begin, const uint16_t* end)
      : begin_(begin), end_(end) {}
  Iterator begin() const { return {begin_, end_}; }
  Iterator end() const { return {end_, end_}; }
  bool empty() const { return begin_ == end_; }

 private:
  const uint16_t* begin_ = nullptr;
  const uint16_t* end_ = nullptr;
};

}  // namespace knock
