// `knockd flush`: remove everything the daemon installed in the firewall.

#include <cstdio>

#include "common/firewall.h"
#include "common/server_config.h"
#include "knockd/subcommands.h"

namespace knockd {

int RunFlush(const Invocation& invocation) {
  if (!invocation.args.empty())
    return UsageError("flush", "flush takes no arguments");
  knock::ServerConfig config;
  std::string err;
  if (!knock::LoadServerConfig(invocation.config_path, &config, &err)) {
    fprintf(stderr, "%s\n", err.c_str());
    return kExitError;
  }
  std::unique_ptr<knock::Firewall> firewall =
      knock::MakeFirewall(config.firewall);
  if (!firewall->Flush(&err)) {
    PrintError(err);
    return kExitError;
  }
  printf("flushed (%s)\n", firewall->Name());
  return kExitOk;
}

}  // namespace knockd
