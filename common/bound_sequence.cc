#include "common/bound_sequence.h"

#include <sodium.h>

#include <algorithm>

namespace knock {

namespace {

constexpr char kHeadLabel[] = "knock/v1 bound head";
constexpr char kTailLabel[] = "knock/v1 bound tail";
constexpr size_t kLabelBytes = sizeof kHeadLabel - 1;
static_assert(kLabelBytes == 19 && sizeof kTailLabel - 1 == kLabelBytes);
constexpr size_t kBlockBytes = 64;
constexpr size_t kMaxServiceBytes = 64;
// The block counter is one byte, so the stream is at most 256 blocks long.
constexpr int kMaxBlocks = 256;
// Label, window, slot, service length, service, binding and the counter.
constexpr size_t kMaxInputBytes =
    kLabelBytes + 8 + 1 + 1 + kMaxServiceBytes + kMaxBindingBytes + 1;

// Everything hashed for one block but the counter; returns the length.
size_t StreamInput(const char* label, const SequenceId& id,
                   const IpAddress* bound_to, uint8_t* input) {
  size_t n = 0;
  for (size_t i = 0; i < kLabelBytes; ++i)
    input[n++] = static_cast<uint8_t>(label[i]);
  for (int shift = 56; shift >= 0; shift -= 8)
    input[n++] = static_cast<uint8_t>(id.window >> shift);
  input[n++] = id.slot;
  input[n++] = static_cast<uint8_t>(id.service.size());
  for (char c : id.service) input[n++] = static_cast<uint8_t>(c);
  if (bound_to != nullptr) n += BindingBytes(*bound_to, input + n);
  return n;
}

bool CheckArguments(const SequenceId& id, const SequenceShape& shape,
                    std::string* err) {
  if (id.service.empty() || id.service.size() > kMaxServiceBytes) {
    *err = "a service name is 1 to 64 bytes, got \"" + std::string(id.service) +
           "\"";
    return false;
  }
  const int total = shape.count + BoundTailCount(shape.count);
  if (shape.count <= 0 || shape.range == 0 ||
      static_cast<uint32_t>(total) > shape.range ||
      shape.base + shape.range > 65536) {
    *err = "no bound sequence of " + std::to_string(total) +
           " distinct ports fits the range " + std::to_string(shape.base) +
           "+" + std::to_string(shape.range);
    return false;
  }
  return true;
}

// Reads the keyed stream over `input` (its counter appended) as 16-bit
// values and keeps `want` ports not in `exclude` nor already kept.
bool FillFromStream(const PairKey& key, uint8_t* input, size_t input_bytes,
                    const SequenceShape& shape,
                    std::span<const uint16_t> exclude, int want, uint16_t* out,
                    std::string* err) {
  uint8_t block[kBlockBytes];
  int found = 0;
  for (int counter = 0; counter < kMaxBlocks && found < want; ++counter) {
    input[input_bytes] = static_cast<uint8_t>(counter);
    crypto_generichash(block, sizeof block, input, input_bytes + 1,
                       key.bytes().data(), key.bytes().size());
    for (size_t i = 0; i + 1 < kBlockBytes && found < want; i += 2) {
      const uint32_t value = (uint32_t{block[i]} << 8) | block[i + 1];
      const auto port = static_cast<uint16_t>(shape.base + value % shape.range);
      if (std::find(exclude.begin(), exclude.end(), port) != exclude.end())
        continue;
      if (std::find(out, out + found, port) != out + found) continue;
      out[found++] = port;
    }
  }
  sodium_memzero(block, sizeof block);
  if (found == want) return true;
  *err =
      "the stream ran out before " + std::to_string(want) + " distinct ports";
  return false;
}

}  // namespace

int BoundTailCount(int count) { return count <= 0 ? 0 : (count + 1) / 2; }

size_t BindingBytes(const IpAddress& address, uint8_t* out) {
  static constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0,    0,
                                                0, 0, 0, 0, 0xff, 0xff};
  const bool mapped =
      !address.is_v4() &&
      std::equal(kMappedPrefix, kMappedPrefix + 12, address.bytes.begin());
  if (address.is_v4() || mapped) {
    out[0] = 4;
    std::copy_n(address.bytes.begin() + (mapped ? 12 : 0), 4, out + 1);
    return 5;
  }
  out[0] = 6;
  std::copy_n(address.bytes.begin(), 16, out + 1);
  return 17;
}

bool DeriveBoundHeadInto(const PairKey& key, const SequenceId& id,
                         const SequenceShape& shape, uint16_t* out,
                         std::string* err) {
  if (!CheckArguments(id, shape, err)) return false;
  uint8_t input[kMaxInputBytes];
  const size_t input_bytes = StreamInput(kHeadLabel, id, nullptr, input);
  return FillFromStream(key, input, input_bytes, shape, {}, shape.count, out,
                        err);
}

bool DeriveBoundTail(const PairKey& key, const SequenceId& id,
                     const SequenceShape& shape, const IpAddress& bound_to,
                     std::span<const uint16_t> head,
                     std::vector<uint16_t>* tail, std::string* err) {
  if (!CheckArguments(id, shape, err)) return false;
  uint8_t input[kMaxInputBytes];
  const size_t input_bytes = StreamInput(kTailLabel, id, &bound_to, input);
  tail->assign(static_cast<size_t>(BoundTailCount(shape.count)), 0);
  if (FillFromStream(key, input, input_bytes, shape, head,
                     static_cast<int>(tail->size()), tail->data(), err))
    return true;
  tail->clear();
  return false;
}

bool DeriveBoundSequence(const PairKey& key, const SequenceId& id,
                         const SequenceShape& shape, const IpAddress& bound_to,
                         BoundSequence* out, std::string* err) {
  if (!CheckArguments(id, shape, err)) return false;
  out->head.assign(static_cast<size_t>(shape.count), 0);
  if (!DeriveBoundHeadInto(key, id, shape, out->head.data(), err) ||
      !DeriveBoundTail(key, id, shape, bound_to, out->head, &out->tail, err)) {
    out->head.clear();
    out->tail.clear();
    return false;
  }
  return true;
}

std::vector<uint16_t> BoundSendingOrder(const BoundSequence& sequence) {
  std::vector<uint16_t> order;
  if (sequence.head.empty()) return order;
  order.push_back(sequence.head.front());
  order.insert(order.end(), sequence.tail.begin(), sequence.tail.end());
  order.insert(order.end(), sequence.head.begin() + 1, sequence.head.end());
  return order;
}

bool TailAmong(std::span<const uint16_t> tail, std::span<const uint16_t> seen) {
  // Every pair is visited and no comparison ends early, so the time says
  // nothing about which tail ports a forged grant got right.
  unsigned missing = 0;
  for (uint16_t want : tail) {
    unsigned hit = 0;
    for (uint16_t port : seen) hit |= static_cast<unsigned>(port == want);
    missing |= hit ^ 1U;
  }
  return missing == 0;
}

}  // namespace knock
