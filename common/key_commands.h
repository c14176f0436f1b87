#pragma once
// The `genkey` and `pubkey` commands, shared by knock and knockd so that both
// programs read and write keys exactly the same way (as wg does).

#include <string>
#include <string_view>

namespace knock {

/// `genkey`: writes a fresh private key, base64, and a newline to `out_fd`.
bool GenKeyCommand(int out_fd, std::string* err);

/// `pubkey`: reads one private key (44 base64 characters, optionally ending
/// in a newline) from `in_fd` and writes its public key and a newline to
/// `out_fd`. Malformed input is refused without ever echoing it.
bool PubKeyCommand(int in_fd, int out_fd, std::string* err);

/// The core of `pubkey` without I/O: the public key text for the private key
/// text `input` (one trailing "\n" or "\r\n" allowed).
bool PublicKeyTextFromPrivateText(std::string_view input,
                                  std::string* public_text, std::string* err);

}  // namespace knock
