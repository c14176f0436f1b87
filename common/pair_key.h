#pragma once
// The pair key of knock/v1 section 2: one 32-byte secret shared by exactly
// one client and one server, bound to both public keys.

#include <string>

#include "common/x25519_key.h"

namespace knock {

/// The 32-byte secret K both sides derive; wiped when it goes.
class PairKey {
 public:
  PairKey() = default;
  ~PairKey();
  PairKey(const PairKey& other) : bytes_(other.bytes_) {}
  PairKey& operator=(const PairKey& other) {
    bytes_ = other.bytes_;
    return *this;
  }
  const KeyBytes& bytes() const { return bytes_; }
  KeyBytes* mutable_bytes() { return &bytes_; }

 private:
  KeyBytes bytes_{};
};

/// Which side of the pair the caller's own private key belongs to.
enum class PairRole { kClient, kServer };

/// K = BLAKE2b-256(key = "knock/v1 pair key",
///                 data = X25519(own, peer) || client_public || server_public).
/// Fails, with a message, when the Diffie-Hellman output is all zero.
bool DerivePairKey(const PrivateKey& own, const PublicKey& peer, PairRole role,
                   PairKey* out, std::string* err);
/// The same with `own_public` (own.Public()) given: a server deriving ten
/// thousand pair keys computes its own public key once, not every time.
bool DerivePairKey(const PrivateKey& own, const PublicKey& own_public,
                   const PublicKey& peer, PairRole role, PairKey* out,
                   std::string* err);

}  // namespace knock
