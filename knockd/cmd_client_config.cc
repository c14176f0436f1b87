// `knockd client-config NAME`: the [server.NAME] stanza a client pastes into
// its knock.toml, so the two sides agree on every knock parameter.

#include <unistd.h>

#include <cstdio>

#include "common/duration.h"
#include "common/key_file.h"
#include "knockd/shared/server_config.h"
#include "knockd/subcommands.h"

namespace knockd {

namespace {

constexpr size_t kHostNameBytes = 256;

std::string ThisHostName() {
  char name[kHostNameBytes] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "localhost";
  return name;
}

const char* ProtocolText(knock::KnockProtocol protocol) {
  // A client knocks with one transport; "both" servers accept TCP.
  return protocol == knock::KnockProtocol::kUdp ? "udp" : "tcp";
}

}  // namespace

int RunClientConfig(const Invocation& invocation) {
  std::string client_name, host = ThisHostName(), server_name;
  const auto& args = invocation.args;
  for (size_t i = 0; i < args.size(); ++i) {
    if ((args[i] == "--host" || args[i] == "--server-name") &&
        i + 1 < args.size()) {
      (args[i] == "--host" ? host : server_name) = args[i + 1];
      ++i;
    } else if (args[i].rfind("-", 0) == 0) {
      return UsageError("client-config", "unknown option \"" + args[i] + "\"");
    } else if (client_name.empty()) {
      client_name = args[i];
    } else {
      return UsageError("client-config",
                        "unexpected argument \"" + args[i] + "\"");
    }
  }
  if (client_name.empty())
    return UsageError("client-config", "client-config needs a client NAME");
  if (server_name.empty()) server_name = host.substr(0, host.find('.'));

  knock::ServerConfig config;
  std::string err;
  if (!knock::LoadServerConfig(invocation.config_path, &config, &err)) {
    fprintf(stderr, "%s\n", err.c_str());
    return kExitError;
  }
  const knock::ClientSettings* client = config.FindClient(client_name);
  if (client == nullptr) {
    std::string known;
    for (const auto& c : config.clients)
      known += (known.empty() ? "" : ", ") + c.name;
    PrintError("no client \"" + client_name + "\" in " + config.path +
               " (known: " + known + ")");
    return kExitError;
  }
  knock::PrivateKey server_key;
  if (!knock::ReadPrivateKeyFile(config.private_key_file, &server_key, &err)) {
    PrintError(err);
    return kExitError;
  }
  const knock::KnockSettings& k = config.knock;
  printf("# paste into the knock.toml of client %s\n", client->name.c_str());
  printf("[server.%s]\n", server_name.c_str());
  printf("host = \"%s\"\n", host.c_str());
  printf("public_key = \"%s\"\n", server_key.Public().ToText().c_str());
  printf("ports = \"%s\"\n", k.ports.ToString().c_str());
  printf("count = %d\n", k.count);
  printf("protocol = \"%s\"\n", ProtocolText(k.protocol));
  printf("step = \"%s\"\n",
         knock::FormatDurationMs(k.step_seconds * 1000).c_str());
  printf("slots = %d\n", k.slots);
  printf("service = \"%s\"\n", client->services.front().c_str());
  return kExitOk;
}

}  // namespace knockd
