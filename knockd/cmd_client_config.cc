// `knockd client-config NAME`: the [server.NAME] stanza a client pastes into
// its knock.toml, so the two sides agree on every knock parameter.

#include <unistd.h>

#include <cstdio>

#include "common/duration.h"
#include "common/file_owner.h"
#include "common/key_file.h"
#include "common/toml_quote.h"
#include "knockd/shared/server_config.h"
#include "knockd/subcommands.h"

namespace knockd {

namespace {

constexpr size_t kHostNameBytes = 256;

constexpr char kUsage[] =
    "Usage: knockd [-c FILE] client-config NAME [--host HOST] "
    "[--server-name NAME]\n\n"
    "Prints the [server.NAME] stanza that client NAME pastes into its\n"
    "knock.toml. --host defaults to this machine's host name;\n"
    "--server-name (the stanza's name) to the host's first label.\n";

std::string ThisHostName() {
  char name[kHostNameBytes] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "localhost";
  return name;
}

const char* ProtocolText(knock::KnockProtocol protocol) {
  // A client knocks with one transport; "both" servers accept TCP.
  return protocol == knock::KnockProtocol::kUdp ? "udp" : "tcp";
}

void PrintValue(const char* key, const std::string& toml_value) {
  printf("%s = %s\n", key, toml_value.c_str());
}

}  // namespace

int RunClientConfig(const Invocation& invocation) {
  std::optional<std::string> host_option, server_name_option;
  std::vector<std::string> positional;
  int status = kExitOk;
  if (!ParseSubcommandLine(
          invocation.args, "client-config", kUsage,
          {{nullptr, "--host", nullptr, &host_option},
           {nullptr, "--server-name", nullptr, &server_name_option}},
          &positional, &status))
    return status;
  if (positional.empty())
    return UsageError("client-config", "client-config needs a client NAME");
  if (positional.size() > 1)
    return UsageError("client-config",
                      "unexpected argument \"" + positional[1] + "\"");
  const std::string& client_name = positional[0];
  const std::string host = host_option.value_or(ThisHostName());
  const std::string server_name =
      server_name_option.value_or(host.substr(0, host.find('.')));

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
  if (!knock::ReadPrivateKeyFile(config.private_key_file,
                                 knock::AccountUid(config.user), &server_key,
                                 &err)) {
    PrintError(err);
    return kExitError;
  }
  const knock::KnockSettings& k = config.knock;
  printf("# paste into the knock.toml of client %s\n", client->name.c_str());
  printf("[server.%s]\n", knock::QuoteTomlKey(server_name).c_str());
  PrintValue("host", knock::QuoteTomlString(host));
  PrintValue("public_key",
             knock::QuoteTomlString(server_key.Public().ToText()));
  PrintValue("ports", knock::QuoteTomlString(k.ports.ToString()));
  PrintValue("count", std::to_string(k.count));
  PrintValue("protocol", knock::QuoteTomlString(ProtocolText(k.protocol)));
  PrintValue("step", knock::QuoteTomlString(
                         knock::FormatDurationMs(k.step_seconds * 1000)));
  PrintValue("slots", std::to_string(k.slots));
  PrintValue("service", knock::QuoteTomlString(client->services.front()));
  return kExitOk;
}

}  // namespace knockd
