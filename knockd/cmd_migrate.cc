// `knockd migrate [KNOCKD_CONF]`: print a knockd.toml for knockd 0.8's
// knockd.conf, with comments for what cannot carry over.

#include <cstdio>

#include "common/toml_document.h"
#include "knockd/shared/legacy_config_migration.h"
#include "knockd/subcommands.h"

namespace knockd {

namespace {

constexpr char kLegacyConfigPath[] = "/etc/knockd.conf";

constexpr char kUsage[] =
    "Usage: knockd migrate [FILE]\n\n"
    "Reads knockd 0.8's configuration (default /etc/knockd.conf) and\n"
    "prints a knockd.toml on stdout: a service for each door whose\n"
    "command opens a port (iptables --dport, nft dport, ufw port,\n"
    "firewalld port=), interfaces and syslog from [options], and a\n"
    "comment for everything that cannot carry over. Static sequences\n"
    "cannot: the output says why and how to move each user to a key.\n";

}  // namespace

int RunMigrate(const Invocation& invocation) {
  std::vector<std::string> positional;
  int status = kExitOk;
  if (!ParseSubcommandLine(invocation.args, "migrate", kUsage, {}, &positional,
                           &status))
    return status;
  if (positional.size() > 1)
    return UsageError("migrate",
                      "unexpected argument \"" + positional[1] + "\"");
  const std::string path =
      positional.empty() ? kLegacyConfigPath : positional[0];
  std::string text;
  std::string err;
  std::vector<knock::LegacySection> sections;
  if (!knock::ReadConfigText(path, &text, &err) ||
      !knock::ParseLegacyConfig(text, path, &sections, &err)) {
    PrintError(err);
    return kExitError;
  }
  fputs(knock::MigrateLegacyConfig(sections, path).c_str(), stdout);
  return kExitOk;
}

}  // namespace knockd
