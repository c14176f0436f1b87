// libFuzzer target: every parser of a key's text form. Besides not crashing,
// checks the promises the key headers make: a decoded key encodes back to
// the same text (one text per key), and a refused private key is never
// quoted in the error.
#include <sodium.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/key_commands.h"
#include "common/key_encoding.h"
#include "common/x25519_key.h"

namespace {

// Shorter texts could appear in an error by chance ("a", "key").
constexpr size_t kMinQuotableChars = 8;

// `text` with its letters' case swapped and its digits moved on by one: the
// same shape of input with other contents.
std::string Variant(std::string_view text) {
  std::string variant(text);
  for (char& c : variant) {
    if (c >= 'a' && c <= 'z') {
      c = static_cast<char>(c - 'a' + 'A');
    } else if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    } else if (c >= '0' && c <= '9') {
      c = static_cast<char>('0' + (c - '0' + 1) % 10);
    }
  }
  return variant;
}

// Aborts if `error_of` quotes its input. An input may be a piece of the
// fixed message itself (the fuzzer learns those words), so it counts only
// when the same-shaped variant is quoted too.
template <typename ErrorOf>
void CheckNotQuoted(std::string_view text, ErrorOf error_of) {
  if (text.size() < kMinQuotableChars) return;
  std::string err;
  if (!error_of(text, &err) || err.find(text) == std::string::npos) return;
  std::string variant = Variant(text);
  std::string variant_err;
  if (!error_of(variant, &variant_err) &&
      variant_err.find(variant) != std::string::npos) {
    std::abort();
  }
}

void FuzzDecodeKey(std::string_view text) {
  knock::KeyBytes bytes;
  std::string err;
  if (knock::DecodeKey(text, &bytes, &err)) {
    if (knock::EncodeKey(bytes) != text) std::abort();
  } else if (err.empty()) {
    std::abort();
  }
  CheckNotQuoted(text, [](std::string_view input, std::string* error) {
    knock::KeyBytes secret;
    return !knock::DecodeKey(input, &secret, error, /*text_is_secret=*/true);
  });
}

void FuzzPublicKey(std::string_view text) {
  knock::PublicKey key;
  std::string err;
  if (knock::ParsePublicKey(text, &key, &err) && key.ToText() != text) {
    std::abort();
  }
}

void FuzzPrivateKey(std::string_view text) {
  knock::PrivateKey key;
  std::string err;
  if (knock::PrivateKey::FromText(text, &key, &err) &&
      key.ToTextForKeyFile() != text) {
    std::abort();
  }
  CheckNotQuoted(text, [](std::string_view input, std::string* error) {
    knock::PrivateKey secret;
    return !knock::PrivateKey::FromText(input, &secret, error);
  });
  std::string public_text;
  std::string pubkey_err;
  if (knock::PublicKeyTextFromPrivateText(text, &public_text, &pubkey_err)) {
    knock::PublicKey parsed;
    std::string parse_err;
    // Clamping makes every private key's public half a valid point.
    if (!knock::ParsePublicKey(public_text, &parsed, &parse_err)) std::abort();
  }
  CheckNotQuoted(text, [](std::string_view input, std::string* error) {
    std::string unused;
    return !knock::PublicKeyTextFromPrivateText(input, &unused, error);
  });
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (sodium_init() < 0) std::abort();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  FuzzDecodeKey(text);
  FuzzPublicKey(text);
  FuzzPrivateKey(text);
  return 0;
}
