// print_pair_key: the secrets an end-to-end test looks for in a process's
// memory, in hex: the server's private key and the pair key it shares with
// one client (knock/v1 section 2).
//
//   print_pair_key SERVER_KEY_FILE CLIENT_PUBLIC_KEY
//   prints "private HEX" and "pair HEX"

#include <cstdio>
#include <string>

#include "common/key_file.h"
#include "common/pair_key.h"
#include "common/x25519_key.h"

namespace {

std::string Hex(const knock::KeyBytes& bytes) {
  std::string text;
  char digits[3];
  for (uint8_t byte : bytes) {
    snprintf(digits, sizeof digits, "%02x", byte);
    text += digits;
  }
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr,
            "usage: print_pair_key SERVER_KEY_FILE CLIENT_PUBLIC_KEY\n");
    return 2;
  }
  knock::PrivateKey server;
  knock::PublicKey client;
  knock::PairKey pair;
  std::string err;
  if (!knock::ReadPrivateKeyFile(argv[1], &server, &err) ||
      !knock::ParsePublicKey(argv[2], &client, &err) ||
      !knock::DerivePairKey(server, client, knock::PairRole::kServer, &pair,
                            &err)) {
    fprintf(stderr, "print_pair_key: %s\n", err.c_str());
    return 1;
  }
  printf("private %s\npair %s\n", Hex(server.bytes()).c_str(),
         Hex(pair.bytes()).c_str());
  return 0;
}
