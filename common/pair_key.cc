#include "common/pair_key.h"

#include <sodium.h>

#include <cstring>

namespace knock {

namespace {
constexpr char kPairKeyLabel[] = "knock/v1 pair key";
constexpr size_t kPairKeyLabelBytes = sizeof kPairKeyLabel - 1;
static_assert(kPairKeyLabelBytes == 17);
}  // namespace

PairKey::~PairKey() { sodium_memzero(bytes_.data(), bytes_.size()); }

bool DerivePairKey(const PrivateKey& own, const PublicKey& peer, PairRole role,
                   PairKey* out, std::string* err) {
  return DerivePairKey(own, own.Public(), peer, role, out, err);
}

bool DerivePairKey(const PrivateKey& own, const PublicKey& own_public,
                   const PublicKey& peer, PairRole role, PairKey* out,
                   std::string* err) {
  const PublicKey& client_public =
      role == PairRole::kClient ? own_public : peer;
  const PublicKey& server_public =
      role == PairRole::kServer ? own_public : peer;

  uint8_t data[3 * kKeyBytes];
  if (crypto_scalarmult(data, own.bytes().data(), peer.bytes.data()) != 0) {
    sodium_memzero(data, sizeof data);
    *err = "key agreement with " + peer.ToText() +
           " gave an all-zero secret (a low-order public key)";
    return false;
  }
  std::memcpy(data + kKeyBytes, client_public.bytes.data(), kKeyBytes);
  std::memcpy(data + 2 * kKeyBytes, server_public.bytes.data(), kKeyBytes);
  crypto_generichash(out->mutable_bytes()->data(), kKeyBytes, data, sizeof data,
                     reinterpret_cast<const uint8_t*>(kPairKeyLabel),
                     kPairKeyLabelBytes);
  sodium_memzero(data, sizeof data);
  return true;
}

}  // namespace knock
