// genkey and pubkey, as both programs run them.
#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "common/key_commands.h"
#include "common/x25519_key.h"
#include "portable_test_support.h"

namespace {

// The first shared vector's client key pair.
constexpr char kPrivate[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
constexpr char kPublic[] = "j0DFrbaPJWJK5bIU6nZ6bslNgp09e14a0bpvPiE4KF8=";

std::string ReadAll(int fd) {
  std::string text;
  char buffer[256];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof buffer)) > 0) text.append(buffer, n);
  return text;
}

// Runs PubKeyCommand with `input` on a pipe; returns what it wrote.
bool RunPubKey(const std::string& input, std::string* output,
               std::string* err) {
  int in[2], out[2];
  REQUIRE(pipe(in) == 0);
  REQUIRE(pipe(out) == 0);
  REQUIRE(write(in[1], input.data(), input.size()) ==
          static_cast<ssize_t>(input.size()));
  close(in[1]);
  bool ok = knock::PubKeyCommand(in[0], out[1], err);
  close(in[0]);
  close(out[1]);
  *output = ReadAll(out[0]);
  close(out[0]);
  return ok;
}

}  // namespace

TEST_CASE("pubkey accepts a key with or without its newline",
          "[key_commands]") {
  std::string public_text, err;
  for (std::string input : {std::string(kPrivate), std::string(kPrivate) + "\n",
                            std::string(kPrivate) + "\r\n"}) {
    REQUIRE(knock::PublicKeyTextFromPrivateText(input, &public_text, &err));
    CHECK(public_text == kPublic);
  }
  std::string output;
  REQUIRE(RunPubKey(std::string(kPrivate) + "\n", &output, &err));
  CHECK(output == std::string(kPublic) + "\n");
}

TEST_CASE("pubkey refuses malformed input without echoing it",
          "[key_commands]") {
  std::string output, err;
  CHECK_FALSE(RunPubKey("hunter2-secret\n", &output, &err));
  CHECK(err ==
        "standard input: bad private key: a key is 44 base64 characters, got "
        "14 (secret, not shown)");
  CHECK(output.empty());

  CHECK_FALSE(RunPubKey(std::string(kPrivate) + "\n\n", &output, &err));
  CHECK(err ==
        "standard input: bad private key: a key is 44 base64 characters, got "
        "45 (secret, not shown)");

  const std::string bad_alphabet(43, '*');
  CHECK_FALSE(RunPubKey(bad_alphabet + "=", &output, &err));
  CHECK(err.find('*') == std::string::npos);

  CHECK_FALSE(RunPubKey(std::string(500, 'A'), &output, &err));
  CHECK(err == "standard input: bad private key: more than 128 bytes");
  CHECK(output.empty());
}

TEST_CASE("genkey writes a fresh private key and a newline", "[key_commands]") {
  int out[2];
  REQUIRE(pipe(out) == 0);
  std::string err;
  REQUIRE(knock::GenKeyCommand(out[1], &err));
  REQUIRE(knock::GenKeyCommand(out[1], &err));
  close(out[1]);
  const std::string text = ReadAll(out[0]);
  close(out[0]);
  REQUIRE(text.size() == 90);
  CHECK(text[44] == '\n');
  CHECK(text[89] == '\n');
  CHECK(text.substr(0, 44) != text.substr(45, 44));
  knock::PrivateKey key;
  CHECK(knock::PrivateKey::FromText(text.substr(0, 44), &key, &err));
  std::string public_text;
  CHECK(knock::PublicKeyTextFromPrivateText(text.substr(0, 45), &public_text,
                                            &err));
  CHECK(public_text == key.Public().ToText());
}
