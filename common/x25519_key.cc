#include "common/x25519_key.h"

#include <sodium.h>

namespace knock {

PrivateKey::~PrivateKey() { sodium_memzero(bytes_.data(), bytes_.size()); }

PrivateKey::PrivateKey(PrivateKey&& other) noexcept : bytes_(other.bytes_) {
  sodium_memzero(other.bytes_.data(), other.bytes_.size());
}

PrivateKey& PrivateKey::operator=(PrivateKey&& other) noexcept {
  if (this != &other) {
    bytes_ = other.bytes_;
    sodium_memzero(other.bytes_.data(), other.bytes_.size());
  }
  return *this;
}

PrivateKey PrivateKey::Generate() {
  PrivateKey key;
  PublicKey unused;
  crypto_box_keypair(unused.bytes.data(), key.bytes_.data());
  return key;
}

PrivateKey PrivateKey::FromBytes(const KeyBytes& bytes) {
  PrivateKey key;
  key.bytes_ = bytes;
  return key;
}

bool PrivateKey::FromText(std::string_view text, PrivateKey* out,
                          std::string* err) {
  PrivateKey key;
  if (!DecodeKey(text, &key.bytes_, err, /*text_is_secret=*/true)) {
    *err = "bad private key: " + *err;
    return false;
  }
  if (sodium_is_zero(key.bytes_.data(), key.bytes_.size())) {
    *err = "bad private key: it is all zero";
    return false;
  }
  *out = std::move(key);
  return true;
}

PublicKey PrivateKey::Public() const {
  PublicKey pub;
  crypto_scalarmult_base(pub.bytes.data(), bytes_.data());
  return pub;
}

bool ParsePublicKey(std::string_view text, PublicKey* out, std::string* err) {
  PublicKey key;
  if (!DecodeKey(text, &key.bytes, err)) {
    *err = "bad public key: " + *err;
    return false;
  }
  if (sodium_is_zero(key.bytes.data(), key.bytes.size())) {
    *err = "bad public key: it is all zero \"" + std::string(text) + "\"";
    return false;
  }
  // A point of small order gives an all-zero shared secret with every
  // private key; probing with an arbitrary scalar finds it.
  KeyBytes probe_scalar;
  probe_scalar.fill(0x5a);
  KeyBytes shared;
  if (crypto_scalarmult(shared.data(), probe_scalar.data(), key.bytes.data()) !=
      0) {
    *err = "bad public key: it is a point of small order \"" +
           std::string(text) + "\"";
    return false;
  }
  *out = key;
  return true;
}

}  // namespace knock
