// `knockd client add|remove|list`: manage clients as clients.d drop-ins
// and have the running daemon reload them.

#include <cstdio>

#include "knockd/shared/client_drop_in.h"
#include "knockd/shared/daemon_pid_file.h"
#include "knockd/shared/server_config.h"
#include "knockd/subcommands.h"

namespace knockd {

namespace {

std::vector<std::string> SplitCommas(const std::string& text) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t comma; (comma = text.find(',', start)) != std::string::npos;
       start = comma + 1)
    parts.push_back(text.substr(start, comma - start));
  parts.push_back(text.substr(start));
  return parts;
}

int Reload(const std::string& state_dir, bool reload) {
  if (!reload) {
    printf("not reloaded (--no-reload): send knockd SIGHUP to apply\n");
    return kExitOk;
  }
  std::string what;
  std::string err;
  if (!knock::ReloadRunningDaemon(state_dir, &what, &err)) {
    PrintError(err);
    return kExitError;
  }
  printf("%s\n", what.c_str());
  return kExitOk;
}

int Add(const Invocation& invocation) {
  knock::NewClient client;
  bool reload = true;
  bool have_key = false;
  const auto& args = invocation.args;
  for (size_t i = 1; i < args.size(); ++i) {
    const bool has_value = i + 1 < args.size();
    if (args[i] == "--key" && has_value) {
      client.public_key = args[++i];
      have_key = true;
    } else if (args[i] == "--services" && has_value) {
      client.services = SplitCommas(args[++i]);
    } else if (args[i] == "--no-reload") {
      reload = false;
    } else if (args[i].rfind("-", 0) == 0) {
      return UsageError("client", "unknown option \"" + args[i] + "\"");
    } else if (client.name.empty()) {
      client.name = args[i];
    } else {
      return UsageError("client", "unexpected argument \"" + args[i] + "\"");
    }
  }
  if (client.name.empty() || !have_key)
    return UsageError("client", "client add needs NAME and --key PUBKEY");
  std::string path, state_dir, err;
  if (!knock::AddClientDropIn(invocation.config_path, client, &path, &state_dir,
                              &err)) {
    PrintError(err);
    return kExitError;
  }
  printf("wrote %s\n", path.c_str());
  return Reload(state_dir, reload);
}

int Remove(const Invocation& invocation) {
  std::string name;
  bool reload = true;
  const auto& args = invocation.args;
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--no-reload") {
      reload = false;
    } else if (args[i].rfind("-", 0) == 0) {
      return UsageError("client", "unknown option \"" + args[i] + "\"");
    } else if (name.empty()) {
      name = args[i];
    } else {
      return UsageError("client", "unexpected argument \"" + args[i] + "\"");
    }
  }
  if (name.empty()) return UsageError("client", "client remove needs NAME");
  std::string path, state_dir, err;
  if (!knock::RemoveClientDropIn(invocation.config_path, name, &path,
                                 &state_dir, &err)) {
    PrintError(err);
    return kExitError;
  }
  printf("removed %s\n", path.c_str());
  return Reload(state_dir, reload);
}

int List(const Invocation& invocation) {
  if (invocation.args.size() > 1)
    return UsageError("client", "client list takes no arguments");
  knock::ServerConfig config;
  std::string err;
  if (!knock::LoadServerConfig(invocation.config_path, &config, &err)) {
    fprintf(stderr, "%s\n", err.c_str());
    return kExitError;
  }
  size_t name_width = 6;
  size_t services_width = 8;
  std::vector<std::string> services(config.clients.size());
  for (size_t i = 0; i < config.clients.size(); ++i) {
    for (const std::string& name : config.clients[i].services)
      services[i] += (services[i].empty() ? "" : ",") + name;
    name_width = std::max(name_width, config.clients[i].name.size());
    services_width = std::max(services_width, services[i].size());
  }
  const int nw = static_cast<int>(name_width);
  const int sw = static_cast<int>(services_width);
  printf("%-*s  %-*s  %s\n", nw, "CLIENT", sw, "SERVICES", "FILE");
  for (size_t i = 0; i < config.clients.size(); ++i) {
    printf("%-*s  %-*s  %s\n", nw, config.clients[i].name.c_str(), sw,
           services[i].c_str(), config.client_sources[i].c_str());
  }
  return kExitOk;
}

}  // namespace

int RunClient(const Invocation& invocation) {
  const std::string action =
      invocation.args.empty() ? "" : invocation.args.front();
  if (action == "add") return Add(invocation);
  if (action == "remove") return Remove(invocation);
  if (action == "list") return List(invocation);
  if (action.empty())
    return UsageError("client", "client needs add, remove or list");
  return UsageError("client", "unknown client action \"" + action + "\"");
}

}  // namespace knockd
