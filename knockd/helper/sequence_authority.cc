#include "knockd/helper/sequence_authority.h"

#include <sodium.h>

#include <vector>

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

bool SequenceAuthority::CheckEvidence(const PrivsepMessage& grant,
                                      std::string* err) const {
  const SequenceOwner& owner = grant.owner;
  const std::string which = "client " + std::to_string(owner.client) +
                            " service " + std::to_string(owner.service) +
                            " window " + std::to_string(owner.window) +
                            " slot " + std::to_string(owner.slot);
  if (grant.port_count != table_.count()) {
    *err = "the grant for " + which + " shows " +
           std::to_string(grant.port_count) + " ports, a sequence has " +
           std::to_string(table_.count());
    return false;
  }
  std::vector<uint16_t> expected(static_cast<size_t>(table_.count()));
  if (!table_.Derive(owner, expected.data())) {
    *err = "no sequence for " + which;
    return false;
  }
  // Constant time: how far a forged grant matched must not leak through the
  // helper's timing.
  if (sodium_memcmp(expected.data(), grant.ports.data(),
                    expected.size() * sizeof(uint16_t)) != 0) {
    *err = "the grant's ports are not the sequence of " + which;
    return false;
  }
  return true;
}

}  // namespace knock
