// `knockd client add|remove|list`: manage clients as clients.d drop-ins
// and have the running daemon reload them.

#include <algorithm>
#include <cstdio>
#include <optional>

#include "knockd/shared/client_drop_in.h"
#include "knockd/shared/daemon_pid_file.h"
#include "knockd/shared/server_config.h"
#include "knockd/subcommands.h"

namespace knockd {

namespace {

constexpr char kUsage[] =
    "Usage: knockd [-c FILE] client add NAME --key PUBKEY "
    "[--services a,b] [--no-reload]\n"
    "       knockd [-c FILE] client remove NAME [--no-reload]\n"
    "       knockd [-c FILE] client list\n\n"
    "add writes clients.d/NAME.toml beside the configuration (mode 0640,\n"
    "atomically) for a client with public key PUBKEY and the services\n"
    "listed (default: every service), after checking that the whole\n"
    "configuration stays valid: a bad key, a taken name or key, or an\n"
    "unknown service is refused. remove deletes the drop-in that defines\n"
    "NAME. Both then ask the running knockd, found through\n"
    "<state_dir>/knockd.pid, to reload, and wait for its answer: a refused\n"
    "reload is printed and exits 1 (the file stays changed). list shows\n"
    "every client, its services and the file that defines it.\n";

/// What `knockd client ...` was asked: the action, its NAME and options.
struct ClientRequest {
  std::vector<std::string> positional;  // action, then NAME
  std::optional<std::string> key;
  std::optional<std::string> services;
  bool no_reload = false;
};

std::vector<std::string> SplitCommas(const std::string& text) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t comma; (comma = text.find(',', start)) != std::string::npos;
       start = comma + 1)
    parts.push_back(text.substr(start, comma - start));
  parts.push_back(text.substr(start));
  return parts;
}

int Reload(const std::string& config_path, const std::string& state_dir,
           bool reload) {
  if (!reload) {
    printf("not reloaded (--no-reload): send knockd SIGHUP to apply\n");
    return kExitOk;
  }
  std::string message;
  switch (
      knock::ReloadRunningDaemon(knock::DaemonFilesFor(config_path, state_dir),
                                 knock::kReloadAnswerTimeoutMs, &message)) {
    case knock::ReloadOutcome::kNotRunning:
      printf("%s: the change takes effect when it starts\n", message.c_str());
      return kExitOk;
    case knock::ReloadOutcome::kReloaded:
      printf("%s\n", message.c_str());
      return kExitOk;
    case knock::ReloadOutcome::kFailed:
      break;
  }
  // The drop-in is written: the daemon runs on without it until it takes a
  // reload or restarts.
  PrintError(message);
  return kExitError;
}

int Add(const Invocation& invocation, const ClientRequest& request) {
  if (request.positional.size() > 2)
    return UsageError("client",
                      "unexpected argument \"" + request.positional[2] + "\"");
  if (request.positional.size() < 2 || !request.key)
    return UsageError("client", "client add needs NAME and --key PUBKEY");
  knock::NewClient client;
  client.name = request.positional[1];
  client.public_key = *request.key;
  if (request.services) client.services = SplitCommas(*request.services);
  std::string path, state_dir, err;
  if (!knock::AddClientDropIn(invocation.config_path, client, &path, &state_dir,
                              &err)) {
    PrintError(err);
    return kExitError;
  }
  printf("wrote %s\n", path.c_str());
  return Reload(invocation.config_path, state_dir, !request.no_reload);
}

int Remove(const Invocation& invocation, const ClientRequest& request) {
  if (request.key || request.services)
    return UsageError("client", "client remove takes no --key or --services");
  if (request.positional.size() > 2)
    return UsageError("client",
                      "unexpected argument \"" + request.positional[2] + "\"");
  if (request.positional.size() < 2)
    return UsageError("client", "client remove needs NAME");
  const std::string& name = request.positional[1];
  std::string path, state_dir, err;
  if (!knock::RemoveClientDropIn(invocation.config_path, name, &path,
                                 &state_dir, &err)) {
    PrintError(err);
    return kExitError;
  }
  printf("removed %s\n", path.c_str());
  return Reload(invocation.config_path, state_dir, !request.no_reload);
}

int List(const Invocation& invocation, const ClientRequest& request) {
  if (request.positional.size() > 1 || request.key || request.services ||
      request.no_reload)
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
  ClientRequest request;
  int status = kExitOk;
  if (!ParseSubcommandLine(
          invocation.args, "client", kUsage,
          {{nullptr, "--key", nullptr, &request.key},
           {nullptr, "--services", nullptr, &request.services},
           {nullptr, "--no-reload", &request.no_reload, nullptr}},
          &request.positional, &status))
    return status;
  const std::string action =
      request.positional.empty() ? "" : request.positional.front();
  if (action == "add") return Add(invocation, request);
  if (action == "remove") return Remove(invocation, request);
  if (action == "list") return List(invocation, request);
  if (action.empty())
    return UsageError("client", "client needs add, remove or list");
  return UsageError("client", "unknown client action \"" + action + "\"");
}

}  // namespace knockd
