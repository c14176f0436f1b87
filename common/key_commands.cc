#include "common/key_commands.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "common/portable_file.h"
#include "common/x25519_key.h"

namespace knock {

namespace {

// A key line is 44 characters plus "\r\n"; anything much longer is not a
// key, and reading it all would only keep more secret bytes around.
constexpr size_t kMaxKeyInputBytes = 128;

bool WriteAll(int fd, std::string_view text, std::string* err) {
  while (!text.empty()) {
    ssize_t n = write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *err = std::string("cannot write the key: ") + strerror(errno);
      return false;
    }
    text.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Reads until EOF or until more than kMaxKeyInputBytes arrived.
bool ReadKeyInput(int fd, char* buffer, size_t* length, std::string* err) {
  *length = 0;
  while (*length <= kMaxKeyInputBytes) {
    ssize_t n = read(fd, buffer + *length, kMaxKeyInputBytes + 1 - *length);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *err = std::string("cannot read a private key from standard input: ") +
             strerror(errno);
      return false;
    }
    if (n == 0) return true;
    *length += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

bool GenKeyCommand(int out_fd, std::string* err) {
  PrivateKey key = PrivateKey::Generate();
  std::string text = key.ToTextForKeyFile() + "\n";
  bool ok = WriteAll(out_fd, text, err);
  sodium_memzero(text.data(), text.size());
  return ok;
}

bool PublicKeyTextFromPrivateText(std::string_view input,
                                  std::string* public_text, std::string* err) {
  if (input.ends_with("\n")) input.remove_suffix(1);
  if (input.ends_with("\r")) input.remove_suffix(1);
  PrivateKey key;
  std::string why;
  if (!PrivateKey::FromText(input, &key, &why)) {
    *err = "standard input: " + why;
    return false;
  }
  *public_text = key.Public().ToText();
  return true;
}

bool PubKeyCommand(int in_fd, int out_fd, std::string* err) {
  char buffer[kMaxKeyInputBytes + 1];
  size_t length = 0;
  bool ok = ReadKeyInput(in_fd, buffer, &length, err);
  std::string public_text;
  if (ok && length > kMaxKeyInputBytes) {
    *err = "standard input: bad private key: more than " +
           std::to_string(kMaxKeyInputBytes) + " bytes";
    ok = false;
  }
  if (ok)
    ok = PublicKeyTextFromPrivateText(std::string_view(buffer, length),
                                      &public_text, err);
  sodium_memzero(buffer, sizeof buffer);
  return ok && WriteAll(out_fd, public_text + "\n", err);
}

}  // namespace knock
