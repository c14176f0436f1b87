#pragma once
// The text form of a key, in one place: standard base64 with padding
// (RFC 4648 section 4), 44 characters for 32 bytes, as WireGuard writes them.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace knock {

inline constexpr size_t kKeyBytes = 32;
inline constexpr size_t kKeyTextChars = 44;

/// The raw 32 bytes of an X25519 key, public or private.
using KeyBytes = std::array<uint8_t, kKeyBytes>;

/// Encodes 32 key bytes as 44 base64 characters.
std::string EncodeKey(const KeyBytes& key);

/// Decodes exactly 44 base64 characters into 32 bytes. Leading and trailing
/// whitespace is not accepted here: callers trim lines first. On failure the
/// message names what is wrong and quotes the text. Never logs `text`
/// when `text_is_secret`.
bool DecodeKey(std::string_view text, KeyBytes* out, std::string* err,
               bool text_is_secret = false);

}  // namespace knock
