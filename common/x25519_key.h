#pragma once
// X25519 key pairs (knock/v1 section 1): generation, the public half of a
// private key, and parsing from the text form with clear errors.

#include <string>
#include <string_view>

#include "common/key_encoding.h"

namespace knock {

/// An X25519 public key. Public, so plain bytes that may be copied and shown.
struct PublicKey {
  KeyBytes bytes{};
  bool operator==(const PublicKey& other) const = default;
  std::string ToText() const { return EncodeKey(bytes); }
};

/// An X25519 private key. Wiped when it goes; it cannot be copied by
/// accident (only moved or explicitly cloned) and has no printing helper.
class PrivateKey {
 public:
  PrivateKey() = default;
  ~PrivateKey();
  PrivateKey(const PrivateKey&) = delete;
  PrivateKey& operator=(const PrivateKey&) = delete;
  PrivateKey(PrivateKey&& other) noexcept;
  PrivateKey& operator=(PrivateKey&& other) noexcept;

  /// A fresh random key from libsodium.
  static PrivateKey Generate();
  /// Parses the 44-character text form; the error never quotes the text.
  static bool FromText(std::string_view text, PrivateKey* out,
                       std::string* err);
  static PrivateKey FromBytes(const KeyBytes& bytes);

  PublicKey Public() const;
  /// The text form. Only for `genkey` and key files: the one place a private
  /// key is ever turned into text.
  std::string ToTextForKeyFile() const { return EncodeKey(bytes_); }
  const KeyBytes& bytes() const { return bytes_; }

 private:
  KeyBytes bytes_{};
};

/// Parses a public key's text form, refusing the all-zero key and points of
/// small order (which would make every shared secret predictable).
/// True for the points whose X25519 with any private key is all zero (small
/// order, bit 255 ignored as X25519 ignores it).
bool IsSmallOrderPoint(const KeyBytes& point);

bool ParsePublicKey(std::string_view text, PublicKey* out, std::string* err);

}  // namespace knock
