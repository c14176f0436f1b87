#include "knockd/helper/sequence_authority.h"

#include <sodium.h>

#include <vector>

#include "common/bound_sequence.h"

namespace knock {

bool SequenceAuthority::Init(const ServerConfig& config,
                             const PrivateKey& server_key, std::string* err) {
  table_.set_windows_ahead(1);
  // The helper never matches packets: the index would only cost memory.
  table_.set_indexed(false);
  return table_.Init(config, server_key, err);
}

std::string SequenceAuthority::EncodedImage() const {
  return EncodeTableImage(table_.Image());
}

Evidence SequenceAuthority::CheckEvidence(const PrivsepMessage& grant,
                                          std::string* err) const {
  const SequenceOwner& owner = grant.owner;
  const std::string which = "client " + std::to_string(owner.client) +
                            " service " + std::to_string(owner.service) +
                            " window " + std::to_string(owner.window) +
                            " slot " + std::to_string(owner.slot);
  const bool counts_fit = owner.bound ? grant.port_count >= table_.count()
                                      : grant.port_count == table_.count();
  if (!counts_fit) {
    *err = "the grant for " + which + " shows " +
           std::to_string(grant.port_count) + " ports, a sequence has " +
           std::to_string(table_.count());
    return Evidence::kForged;
  }
  std::vector<uint16_t> expected(static_cast<size_t>(table_.count()));
  if (!table_.Derive(owner, expected.data())) {
    *err = "no sequence for " + which;
    return Evidence::kForged;
  }
  // Constant time: how far a forged grant matched must not leak through the
  // helper's timing.
  if (sodium_memcmp(expected.data(), grant.ports.data(),
                    expected.size() * sizeof(uint16_t)) != 0) {
    *err = "the grant's ports are not the sequence of " + which;
    return Evidence::kForged;
  }
  if (!owner.bound) return Evidence::kValid;
  const std::span<const uint16_t> head =
      grant.grant_ports().first(expected.size());
  const std::span<const uint16_t> others =
      grant.grant_ports().subspan(expected.size());
  std::vector<uint16_t> tail;
  if (!table_.DeriveTail(owner, grant.source, head, &tail)) {
    *err = "no tail for " + which;
    return Evidence::kForged;
  }
  if (!TailAmong(tail, others)) {
    *err = "the sequence is bound to another address than " +
           grant.source.ToString();
    return Evidence::kBoundElsewhere;
  }
  return Evidence::kValid;
}

}  // namespace knock
