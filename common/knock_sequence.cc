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

// Everything hashed for one block except its final counter byte.
std::vector<uint8_t> BlockPrefix(const SequenceId& id) {
  std::vector<uint8_t> prefix(kSequenceLabel,
                              kSequenceLabel + kSequenceLabelBytes);
  for (int shift = 56; shift >= 0; shift -= 8)
    prefix.push_back(static_cast<uint8_t>(id.window >> shift));
  prefix.push_back(id.slot);
  prefix.push_back(static_cast<uint8_t>(id.service.size()));
  prefix.insert(prefix.end(), id.service.begin(), id.service.end());
  return prefix;
}

}  // namespace

uint64_t WindowAt(int64_t unix_seconds, int64_t step_seconds) {
  if (unix_seconds < 0 || step_seconds <= 0) return 0;
  return static_cast<uint64_t>(unix_seconds / step_seconds);
}

bool DeriveSequence(const PairKey& key, const SequenceId& id,
                    const SequenceShape& shape, std::vector<uint16_t>* ports,
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
  ports->clear();
  std::vector<uint8_t> input = BlockPrefix(id);
  input.push_back(0);
  uint8_t block[kBlockBytes];
  for (int counter = 0; counter < kMaxBlocks; ++counter) {
    input.back() = static_cast<uint8_t>(counter);
    crypto_generichash(block, sizeof block, input.data(), input.size(),
                       key.bytes().data(), key.bytes().size());
    for (size_t i = 0; i + 1 < kBlockBytes; i += 2) {
      uint32_t value = (uint32_t{block[i]} << 8) | block[i + 1];
      auto port = static_cast<uint16_t>(shape.base + value % shape.range);
      if (std::find(ports->begin(), ports->end(), port) != ports->end())
        continue;
      ports->push_back(port);
      if (ports->size() == static_cast<size_t>(shape.count)) {
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
