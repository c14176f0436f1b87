#include "common/key_encoding.h"

#include <sodium.h>

namespace knock {

std::string EncodeKey(const KeyBytes& key) {
  char text[kKeyTextChars + 1];
  sodium_bin2base64(text, sizeof text, key.data(), key.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  return std::string(text, kKeyTextChars);
}

namespace {

std::string Quoted(std::string_view text, bool secret) {
  if (secret) return "(secret, not shown)";
  return "\"" + std::string(text) + "\"";
}

bool IsBase64Char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '+' || c == '/';
}

// libsodium 1.0.18 (Debian 12) decodes every byte from 0x80 to 0xff as a
// base64 digit (fuzz_key_text found it), so one key would have many texts.
bool AllBase64(std::string_view digits) {
  for (char c : digits) {
    if (!IsBase64Char(c)) return false;
  }
  return true;
}

}  // namespace

bool DecodeKey(std::string_view text, KeyBytes* out, std::string* err,
               bool text_is_secret) {
  if (text.size() != kKeyTextChars) {
    *err = "a key is 44 base64 characters, got " + std::to_string(text.size()) +
           " " + Quoted(text, text_is_secret);
    return false;
  }
  // 32 bytes leave 2 padding bits in the 43rd character and one '=' pad;
  // anything else is a different length or a non-canonical encoding.
  if (text[43] != '=') {
    *err = "a key ends in one '=' pad " + Quoted(text, text_is_secret);
    return false;
  }
  KeyBytes decoded;
  size_t decoded_len = 0;
  const char* end = nullptr;
  int rc = sodium_base642bin(decoded.data(), decoded.size(), text.data(),
                             text.size(), nullptr, &decoded_len, &end,
                             sodium_base64_VARIANT_ORIGINAL);
  if (rc != 0 || end != text.data() + text.size() || decoded_len != kKeyBytes ||
      !AllBase64(text.substr(0, kKeyTextChars - 1))) {
    *err = "a key is standard base64 (A-Z a-z 0-9 + /) " +
           Quoted(text, text_is_secret);
    sodium_memzero(decoded.data(), decoded.size());
    return false;
  }
  *out = decoded;
  sodium_memzero(decoded.data(), decoded.size());
  return true;
}

}  // namespace knock
