// `knockd migrate [KNOCKD_CONF]`: print a knockd.toml for knockd 0.8's
// knockd.conf, with comments for what cannot carry over.

#include <cstdio>

#include "common/toml_document.h"
#include "knockd/shared/legacy_config_migration.h"
#include "knockd/subcommands.h"

namespace knockd {

namespace {

constexpr char kLegacyConfigPath[] = "/etc/knockd.conf";

}  // namespace

int RunMigrate(const Invocation& invocation) {
  if (invocation.args.size() > 1)
    return UsageError("migrate", "migrate takes one FILE");
  const std::string path =
      invocation.args.empty() ? kLegacyConfigPath : invocation.args[0];
  if (!path.empty() && path[0] == '-')
    return UsageError("migrate", "unknown option \"" + path + "\"");
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
