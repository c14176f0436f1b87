// bench_gen_config: writes a server configuration with many clients, for the
// scale and matcher benchmarks. The first clients' public keys can be given
// (so that real clients can knock); the rest are fresh random keys.
//
//   bench_gen_config --out FILE --server-key FILE --state-dir DIR
//       [--clients N] [--services N] [--client-pub KEY]... [--max-sources N]
//       [--slots N] [--table NAME] [--backend nftables|none] [--open-for DUR]

#include <sodium.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/key_encoding.h"

namespace {

/// What the command line asked for.
struct Options {
  std::string out, server_key, state_dir = "/tmp/knock-bench-state";
  std::string table = "knockbench", backend = "none", open_for = "4s";
  int clients = 1, services = 1, slots = 4;
  long max_sources = 65536;
  std::vector<std::string> client_pubs;
};

bool ParseOptions(int argc, char** argv, Options* o) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--out")
      o->out = value;
    else if (flag == "--server-key")
      o->server_key = value;
    else if (flag == "--state-dir")
      o->state_dir = value;
    else if (flag == "--table")
      o->table = value;
    else if (flag == "--backend")
      o->backend = value;
    else if (flag == "--open-for")
      o->open_for = value;
    else if (flag == "--clients")
      o->clients = atoi(value.c_str());
    else if (flag == "--services")
      o->services = atoi(value.c_str());
    else if (flag == "--slots")
      o->slots = atoi(value.c_str());
    else if (flag == "--max-sources")
      o->max_sources = atol(value.c_str());
    else if (flag == "--client-pub")
      o->client_pubs.push_back(value);
    else {
      fprintf(stderr, "bench_gen_config: unknown option \"%s\"\n",
              flag.c_str());
      return false;
    }
  }
  return !o->out.empty() && !o->server_key.empty() && o->clients > 0 &&
         o->services > 0 && argc % 2 == 1;
}

std::string RandomPublicKey() {
  knock::KeyBytes public_key{}, private_key{};
  crypto_box_keypair(public_key.data(), private_key.data());
  sodium_memzero(private_key.data(), private_key.size());
  return knock::EncodeKey(public_key);
}

void WriteHead(FILE* f, const Options& o) {
  fprintf(f,
          "private_key_file = \"%s\"\nstate_dir = \"%s\"\n"
          "interfaces = [\"any\"]\n[knock]\nports = \"16384-32767\"\n"
          "slots = %d\nmax_sources = %ld\n[firewall]\nbackend = \"%s\"\n"
          "table = \"%s\"\n",
          o.server_key.c_str(), o.state_dir.c_str(), o.slots, o.max_sources,
          o.backend.c_str(), o.table.c_str());
  for (int s = 0; s < o.services; ++s)
    fprintf(f, "[service.svc%d]\nports = [\"tcp/%d\"]\nopen_for = \"%s\"\n", s,
            2222 + s, o.open_for.c_str());
}

void WriteClients(FILE* f, const Options& o) {
  std::string services;
  for (int s = 0; s < o.services; ++s)
    services += (s ? ", \"svc" : "\"svc") + std::to_string(s) + "\"";
  for (int c = 0; c < o.clients; ++c) {
    const std::string pub = c < static_cast<int>(o.client_pubs.size())
                                ? o.client_pubs[c]
                                : RandomPublicKey();
    fprintf(f,
            "[[client]]\nname = \"c%d\"\npublic_key = \"%s\"\n"
            "services = [%s]\n",
            c, pub.c_str(), services.c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!ParseOptions(argc, argv, &o)) {
    fprintf(stderr,
            "usage: bench_gen_config --out FILE --server-key FILE "
            "[--clients N] [--services N] [--client-pub KEY]...\n");
    return 2;
  }
  if (sodium_init() < 0) return 1;
  FILE* f = fopen(o.out.c_str(), "w");
  if (f == nullptr) {
    fprintf(stderr, "bench_gen_config: cannot create \"%s\"\n", o.out.c_str());
    return 1;
  }
  WriteHead(f, o);
  WriteClients(f, o);
  return fclose(f) == 0 ? 0 : 1;
}
