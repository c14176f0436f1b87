#include "common/knock_sequence.h"

#include <sodium.h>

#include <algorithm>
#include <cmath>

namespace knock {

namespace {

constexpr char kSequenceLabel[] = "knock/v1 sequence";
constexpr size_t kSequenceLabelBytes = sizeof kSequenceLabel - 1;
static_assert(kSequenceLabelBytes == 17);
constexpr size_t kBlockBytes = 64;
constexpr size_t kMaxServiceBytes = 64;
// The block counter is one byte, so the stream is at most 256 blocks long.
constexpr int kMaxBlocks = 256;

// Label, window, slot, service length, service and the counter byte.
constexpr size_t kMaxInputBytes =
    kSequenceLabelBytes + 8 + 1 + 1 + kMaxServiceBytes + 1;

// Everything hashed for one block, its final byte the block counter; returns
// the length.
size_t BlockInput(const SequenceId& id, uint8_t* input) {
  size_t n = 0;
  for (size_t i = 0; i < kSequenceLabelBytes; ++i)
    input[n++] = static_cast<uint8_t>(kSequenceLabel[i]);
  for (int shift = 56; shift >= 0; shift -= 8)
    input[n++] = static_cast<uint8_t>(id.window >> shift);
  input[n++] = id.slot;
  input[n++] = static_cast<uint8_t>(id.service.size());
  for (char c : id.service) input[n++] = static_cast<uint8_t>(c);
  input[n++] = 0;
  return n;
}

}  // namespace

uint64_t WindowAt(int64_t unix_seconds, int64_t step_seconds) {
  if (unix_seconds < 0 || step_seconds <= 0) return 0;
  return static_cast<uint64_t>(unix_seconds / step_seconds);
}

bool DeriveSequence(const PairKey& key, const SequenceId& id,
                    const SequenceShape& shape, std::vector<uint16_t>* ports,
                    std::string* err) {
  ports->assign(shape.count > 0 ? static_cast<size_t>(shape.count) : 0, 0);
  if (DeriveSequenceInto(key, id, shape, ports->data(), err)) return true;
  ports->clear();
  return false;
}

bool DeriveSequenceInto(const PairKey& key, const SequenceId& id,
                        const SequenceShape& shape, uint16_t* out,
                        std::string* err) {
  if (id.service.empty() || id.service.size() > kMaxServiceBytes) {
    *err = "a service name is 1 to 64 bytes, got \"" + std::string(id.service) +
           "\"";
    return false;
  }
  if (shape.count <= 0 || shape.range == 0 ||
      static_cast<uint32_t>(shape.count) > shape.range ||
      shape.base + shape.range > 65536) {
    *err = "no sequence of " + std::to_string(shape.count) +
           " distinct ports fits the range " + std::to_string(shape.base) +
           "+" + std::to_string(shape.range);
    return false;
  }
  uint8_t input[kMaxInputBytes];
  const size_t input_bytes = BlockInput(id, input);
  uint8_t block[kBlockBytes];
  int found = 0;
  for (int counter = 0; counter < kMaxBlocks; ++counter) {
    input[input_bytes - 1] = static_cast<uint8_t>(counter);
    crypto_generichash(block, sizeof block, input, input_bytes,
                       key.bytes().data(), key.bytes().size());
    for (size_t i = 0; i + 1 < kBlockBytes; i += 2) {
      uint32_t value = (uint32_t{block[i]} << 8) | block[i + 1];
      auto port = static_cast<uint16_t>(shape.base + value % shape.range);
      if (std::find(out, out + found, port) != out + found) continue;
      out[found++] = port;
      if (found == shape.count) {
        sodium_memzero(block, sizeof block);
        return true;
      }
    }
  }
  sodium_memzero(block, sizeof block);
  *err = "the stream ran out before " + std::to_string(shape.count) +
         " distinct ports";
  return false;
}

double SequenceBits(const SequenceShape& shape) {
  if (shape.range == 0) return 0;
  return shape.count * std::log2(static_cast<double>(shape.range));
}

}  // namespace knock
