#include "knockd/shared/server_config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <unordered_map>

#include "common/bound_sequence.h"
#include "common/config_error.h"
#include "common/config_names.h"
#include "common/config_table.h"
#include "common/did_you_mean.h"
#include "common/duration.h"
#include "common/sequence_shape_config.h"
#include "common/toml_document.h"
#include "knockd/shared/command_placeholders.h"

namespace knock {

namespace {

// Replies to this host's own outgoing connections arrive on these ports
// (net.ipv4.ip_local_port_range's default), so knocks there mix with noise.
constexpr PortRange kLinuxEphemeralPorts{32768, 60999};
// IFNAMSIZ is 16 with the terminating NUL.
constexpr size_t kMaxInterfaceNameBytes = 15;
constexpr int64_t kMaxSkewWindows = 10;
constexpr int64_t kMaxSlackKnocks = 64;
// The matcher keeps knock times as 16-bit milliseconds; twice the longest
// sequence must stay below their 65.5 s wrap.
constexpr int64_t kMaxSeqTimeoutMs = 30000;
// Per-source state is small; this bounds it to a few GiB at the worst.
constexpr int64_t kMaxSources = 16777216;
// 1 TiB: a bound that catches a unit mistake, not a recommendation.
constexpr int64_t kMaxAuditBytes = int64_t{1} << 40;

bool IsInterfaceName(std::string_view name) {
  if (name.empty() || name.size() > kMaxInterfaceNameBytes) return false;
  return name.find_first_of("/: \t") == std::string_view::npos;
}

std::string Quote(std::string_view text) {
  return "\"" + std::string(text) + "\"";
}

bool ReadInterfaces(const ConfigTable& top, std::vector<std::string>* out) {
  std::vector<TomlString> names;
  if (!top.StringList("interfaces", false, &names)) return false;
  if (names.empty()) return true;
  out->clear();
  for (const TomlString& name : names) {
    if (!IsInterfaceName(name.text)) {
      return top.Fail(name.where, "interfaces: not an interface name " +
                                      Quote(name.text) +
                                      " (1-15 characters, no \"/\", \":\" "
                                      "or spaces)");
    }
    if (std::find(out->begin(), out->end(), name.text) != out->end()) {
      return top.Fail(name.where,
                      "interfaces lists " + Quote(name.text) + " twice");
    }
    out->push_back(name.text);
  }
  return true;
}

bool ReadTopLevel(const ConfigTable& top, ServerConfig* config) {
  bool ok = top.CheckKeys({"private_key_file", "state_dir", "user", "audit_log",
                           "audit_key_file", "audit_max_bytes", "interfaces",
                           "log_level", "syslog", "metrics_file", "knock",
                           "firewall", "service", "client"}) &&
            top.String("private_key_file", true, &config->private_key_file) &&
            top.String("state_dir", false, &config->state_dir) &&
            top.String("user", false, &config->user) &&
            top.String("audit_log", false, &config->audit_log) &&
            top.String("audit_key_file", false, &config->audit_key_file) &&
            top.Integer("audit_max_bytes", 0, kMaxAuditBytes,
                        &config->audit_max_bytes) &&
            ReadInterfaces(top, &config->interfaces) &&
            top.Choice("log_level", {"debug", "info", "warning", "error"},
                       &config->log_level) &&
            top.Bool("syslog", &config->syslog) &&
            top.String("metrics_file", false, &config->metrics_file);
  if (ok && config->audit_key_file.empty())
    config->audit_key_file = config->state_dir + "/audit.key";
  return ok;
}

void WarnEphemeralOverlap(const ConfigTable& knock, ServerConfig* config) {
  const PortRange& ports = config->knock.ports;
  if (!ports.Overlaps(kLinuxEphemeralPorts)) return;
  config->warnings.push_back(
      knock.At(knock.Where("ports"),
               "knock range " + ports.ToString() +
                   " overlaps the Linux ephemeral port range 32768-60999 "
                   "(this host's own connections use those ports)"));
}

bool CheckSeqTimeout(const ConfigTable& knock, int64_t seq_timeout_ms) {
  if (seq_timeout_ms <= kMaxSeqTimeoutMs) return true;
  return knock.Fail(knock.Where("seq_timeout"),
                    "knock.seq_timeout must be at most 30s (\"" +
                        FormatDurationMs(seq_timeout_ms) + "\")");
}

bool ReadKnock(const ConfigTable& top, ServerConfig* config) {
  const toml::table* table = nullptr;
  if (!top.Table("knock", &table)) return false;
  if (table == nullptr) return true;
  ConfigTable knock = top.Child(*table, "knock", "in [knock]");
  KnockSettings& settings = config->knock;
  bool ok = knock.CheckKeys({"ports", "count", "protocol", "step", "skew",
                             "slots", "slack", "seq_timeout", "max_sources"}) &&
            ReadSequenceShape(
                knock, {&settings.ports, &settings.count, &settings.protocol,
                        &settings.step_seconds, &settings.slots}) &&
            knock.Integer("skew", 0, kMaxSkewWindows, &settings.skew) &&
            knock.Integer("slack", 0, kMaxSlackKnocks, &settings.slack) &&
            knock.DurationMs("seq_timeout", &settings.seq_timeout_ms) &&
            CheckSeqTimeout(knock, settings.seq_timeout_ms) &&
            knock.Integer("max_sources", 1, kMaxSources, &settings.max_sources);
  if (ok) WarnEphemeralOverlap(knock, config);
  return ok;
}

bool ReadCommand(const ConfigTable& firewall, std::string_view key,
                 std::vector<std::string>* out) {
  std::vector<TomlString> args;
  if (!firewall.StringList(key, false, &args)) return false;
  std::string placeholder_err;
  for (const TomlString& arg : args) {
    if (!CheckCommandPlaceholders(arg.text, &placeholder_err)) {
      return firewall.Fail(arg.where,
                           firewall.Name(key) + ": " + placeholder_err);
    }
    out->push_back(arg.text);
  }
  return true;
}

bool ReadBackend(const ConfigTable& firewall, FirewallBackend* out) {
  std::string name;
  if (!firewall.Choice("backend", {"nftables", "command", "none"}, &name)) {
    return false;
  }
  if (name == "nftables") *out = FirewallBackend::kNftables;
  if (name == "command") *out = FirewallBackend::kCommand;
  if (name == "none") *out = FirewallBackend::kNone;
  return true;
}

bool ReadTableName(const ConfigTable& firewall, std::string* out) {
  if (!firewall.String("table", false, out)) return false;
  if (IsFirewallTableName(*out)) return true;
  return firewall.Fail(firewall.Where("table"),
                       "firewall.table must be 1-64 characters of A-Z a-z "
                       "0-9 _ (" +
                           Quote(*out) + ")");
}

// The commands only mean something to the command backend: missing there is
// an error, present elsewhere is probably a backend switched for a test.
bool CheckCommandsMatchBackend(const ConfigTable& firewall,
                               ServerConfig* config) {
  const FirewallSettings& settings = config->firewall;
  if (settings.backend == FirewallBackend::kCommand) {
    if (!settings.open_command.empty()) return true;
    return firewall.Fail(firewall.Where("backend"),
                         "backend = \"command\" needs open_command in "
                         "[firewall] (the argv that opens a hole)");
  }
  for (std::string_view key : {"open_command", "close_command"}) {
    if (firewall.Find(key) == nullptr) continue;
    config->warnings.push_back(
        firewall.At(firewall.Where(key), firewall.Name(key) +
                                             " is ignored unless backend = "
                                             "\"command\""));
  }
  return true;
}

bool ReadFirewall(const ConfigTable& top, ServerConfig* config) {
  const toml::table* table = nullptr;
  if (!top.Table("firewall", &table)) return false;
  if (table == nullptr) return true;
  ConfigTable firewall = top.Child(*table, "firewall", "in [firewall]");
  FirewallSettings& settings = config->firewall;
  return firewall.CheckKeys(
             {"backend", "table", "open_command", "close_command"}) &&
         ReadBackend(firewall, &settings.backend) &&
         ReadTableName(firewall, &settings.table) &&
         ReadCommand(firewall, "open_command", &settings.open_command) &&
         ReadCommand(firewall, "close_command", &settings.close_command) &&
         CheckCommandsMatchBackend(firewall, config);
}

bool ReadServicePorts(const ConfigTable& service, const KnockSettings& knock,
                      std::vector<ServicePort>* out) {
  std::vector<TomlString> specs;
  if (!service.StringList("ports", true, &specs)) return false;
  for (const TomlString& spec : specs) {
    ServicePort port;
    std::string parse_err;
    if (!ParseServicePort(spec.text, &port, &parse_err)) {
      return service.Fail(spec.where, service.Name("ports") + ": " + parse_err);
    }
    if (std::find(out->begin(), out->end(), port) != out->end()) {
      return service.Fail(spec.where, service.Name("ports") + " lists " +
                                          Quote(spec.text) + " twice");
    }
    // The firewall drops every new flow into the knock range, so a service
    // there could never be reached.
    if (knock.ports.Contains(port.port)) {
      return service.Fail(spec.where, service.Name("ports") +
                                          ": a port inside the knock range " +
                                          knock.ports.ToString() + " (" +
                                          Quote(spec.text) + ")");
    }
    out->push_back(port);
  }
  return true;
}

/// Where each name read so far was defined ("FILE:LINE:COL"), so that a
/// name given again in another file is refused with both places.
using SeenPlaces = std::unordered_map<std::string, std::string>;

std::string Place(const ConfigTable& table, const toml::source_region& where) {
  std::string at = table.At(where, "");
  return at.substr(0, at.size() - 2);  // without the ": "
}

// allow_bound and require_bound; either set needs a shape that holds a
// bound sequence's head and tail (knock/v1 section 7).
bool ReadBoundFlags(const ConfigTable& table, const KnockSettings& knock,
                    bool* allow, bool* require) {
  if (!table.Bool("allow_bound", allow) ||
      !table.Bool("require_bound", require))
    return false;
  const int ports = knock.count + BoundTailCount(knock.count);
  if ((!*allow && !*require) ||
      (ports <= static_cast<int>(kMaxBoundPorts) &&
       static_cast<uint32_t>(ports) <= knock.ports.size()))
    return true;
  const char* key = *require ? "require_bound" : "allow_bound";
  return table.Fail(table.Where(key),
                    table.Name(key) + ": a bound sequence of " +
                        std::to_string(knock.count) + " knocks needs " +
                        std::to_string(ports) +
                        " distinct ports, more than 64 or than the knock "
                        "range holds (true)");
}

bool ReadService(const ConfigTable& services, const toml::key& name,
                 const toml::node& node, SeenPlaces* seen,
                 ServerConfig* config) {
  std::string dotted = "service." + std::string(name.str());
  if (!IsServiceName(name.str())) {
    return services.Fail(name.source(),
                         "a service name is 1-64 characters of a-z 0-9 _ -, "
                         "not starting with - (" +
                             Quote(name.str()) + ")");
  }
  const auto first = seen->find(std::string(name.str()));
  if (first != seen->end()) {
    return services.Fail(name.source(), "duplicate service name, first at " +
                                            first->second + " (" +
                                            Quote(name.str()) + ")");
  }
  seen->emplace(std::string(name.str()), Place(services, name.source()));
  const toml::table* table = node.as_table();
  // Table() words the "must be a table, not ..." error like every other.
  if (table == nullptr) return services.Table(name.str(), &table);
  ConfigTable service = services.Child(*table, dotted, "in [" + dotted + "]");
  ServiceSettings settings;
  settings.name = std::string(name.str());
  if (!service.CheckKeys(
          {"ports", "open_for", "allow_bound", "require_bound"}) ||
      !ReadServicePorts(service, config->knock, &settings.ports) ||
      !service.DurationMs("open_for", &settings.open_for_ms) ||
      !ReadBoundFlags(service, config->knock, &settings.allow_bound,
                      &settings.require_bound)) {
    return false;
  }
  config->services.push_back(std::move(settings));
  return true;
}

bool ReadServices(const ConfigTable& top, SeenPlaces* seen,
                  ServerConfig* config) {
  const toml::table* table = nullptr;
  if (!top.Table("service", &table)) return false;
  if (table == nullptr) return true;
  ConfigTable services = top.Child(*table, "service", "in [service]");
  for (const toml::key* name : KeysInFileOrder(*table)) {
    if (!ReadService(services, *name, *table->get(name->str()), seen, config)) {
      return false;
    }
  }
  return true;
}

// Checked once every file is read: the services may all be drop-ins.
bool CheckSomeService(const ConfigTable& main_top, const ServerConfig& config) {
  if (!config.services.empty()) return true;
  return main_top.Fail(main_top.Where("service"),
                       "no services: add a [service.NAME] table such as "
                       "[service.ssh] with ports = [\"tcp/22\"]");
}

std::vector<std::string_view> ServiceNames(const ServerConfig& config) {
  std::vector<std::string_view> names;
  for (const ServiceSettings& service : config.services) {
    names.push_back(service.name);
  }
  return names;
}

bool ReadClientServices(const ConfigTable& client, const ServerConfig& config,
                        std::vector<std::string>* out) {
  std::vector<TomlString> names;
  if (!client.StringList("services", true, &names)) return false;
  for (const TomlString& name : names) {
    if (config.FindService(name.text) == nullptr) {
      std::string message =
          "client.services names a service that is not "
          "defined (" +
          Quote(name.text) + ")";
      std::string near = DidYouMean(name.text, ServiceNames(config));
      if (!near.empty()) message += "; did you mean " + Quote(near) + "?";
      return client.Fail(name.where, message);
    }
    if (std::find(out->begin(), out->end(), name.text) != out->end()) {
      return client.Fail(
          name.where, "client.services lists " + Quote(name.text) + " twice");
    }
    out->push_back(name.text);
  }
  return true;
}

/// Names and keys of the clients read so far, so that a duplicate is found
/// without comparing every client with every earlier one (10,000 clients).
struct SeenClients {
  std::unordered_map<std::string, size_t> names;
  std::unordered_map<std::string, size_t> keys;  // key bytes → client index
  std::vector<std::string> name_places;          // by client index
  std::vector<std::string> key_places;           // by client index
};

bool ReadClientName(const ConfigTable& client, const SeenClients& seen,
                    std::string* out) {
  if (!client.String("name", true, out)) return false;
  if (!IsPeerName(*out)) {
    return client.Fail(client.Where("name"),
                       "client.name must be 1-64 characters of A-Z a-z 0-9 "
                       "_ . -, not starting with - (" +
                           Quote(*out) + ")");
  }
  const auto first = seen.names.find(*out);
  if (first != seen.names.end()) {
    return client.Fail(client.Where("name"),
                       "duplicate client name, first at " +
                           seen.name_places[first->second] + " (" +
                           Quote(*out) + ")");
  }
  return true;
}

bool ReadClientKey(const ConfigTable& client, const ServerConfig& config,
                   const SeenClients& seen, const std::string& name,
                   PublicKey* out) {
  std::string text;
  std::string key_err;
  if (!client.String("public_key", true, &text)) return false;
  if (!ParsePublicKey(text, out, &key_err)) {
    return client.Fail(client.Where("public_key"),
                       "client.public_key: " + key_err);
  }
  const auto other =
      seen.keys.find(std::string(out->bytes.begin(), out->bytes.end()));
  if (other != seen.keys.end()) {
    return client.Fail(
        client.Where("public_key"),
        "client " + Quote(name) + " has the same public key as client " +
            Quote(config.clients[other->second].name) + " at " +
            seen.key_places[other->second] + " (" + Quote(text) + ")");
  }
  return true;
}

bool ReadClient(const ConfigTable& clients, const toml::node& node,
                SeenClients* seen, ServerConfig* config) {
  const toml::table* table = node.as_table();
  if (table == nullptr) {
    return clients.Fail(node.source(),
                        "client must hold tables ([[client]]), "
                        "not " +
                            DescribeTypeAndValue(node));
  }
  ConfigTable client = clients.Child(*table, "client", "in [[client]]");
  ClientSettings settings;
  if (!client.CheckKeys(
          {"name", "public_key", "services", "allow_bound", "require_bound"}) ||
      !ReadBoundFlags(client, config->knock, &settings.allow_bound,
                      &settings.require_bound) ||
      !ReadClientName(client, *seen, &settings.name) ||
      !ReadClientKey(client, *config, *seen, settings.name,
                     &settings.public_key) ||
      !ReadClientServices(client, *config, &settings.services)) {
    return false;
  }
  seen->names.emplace(settings.name, config->clients.size());
  seen->name_places.push_back(Place(client, client.Where("name")));
  seen->key_places.push_back(Place(client, client.Where("public_key")));
  seen->keys.emplace(std::string(settings.public_key.bytes.begin(),
                                 settings.public_key.bytes.end()),
                     config->clients.size());
  config->clients.push_back(std::move(settings));
  config->client_sources.push_back(client.path());
  return true;
}

bool ReadClients(const ConfigTable& top, SeenClients* seen,
                 ServerConfig* config) {
  const toml::node* node = top.Find("client");
  if (node == nullptr) return true;
  const toml::array* array = node->as_array();
  if (array == nullptr) {
    return top.Fail(node->source(),
                    "client must be an array of tables ([[client]]), not " +
                        DescribeTypeAndValue(*node));
  }
  for (const toml::node& element : *array) {
    if (!ReadClient(top, element, seen, config)) return false;
  }
  return true;
}

void WarnNoClients(const ConfigTable& main_top, ServerConfig* config) {
  if (!config->clients.empty() || main_top.Find("client") != nullptr) return;
  config->warnings.push_back(
      main_top.At(main_top.Where("client"),
                  "no [[client]] tables: no knock can open anything"));
}

/// A services.d or clients.d file: only [service.NAME] or [[client]] tables.
bool ReadDropIn(const ConfigFile& file, SeenPlaces* services,
                SeenClients* clients, ServerConfig* config, std::string* err) {
  toml::table document;
  if (!ParseTomlDocument(file.text, file.path, &document, err)) return false;
  if (file.kind == ConfigFileKind::kServices) {
    ConfigTable top(file.path, document, "",
                    "in a services.d file (only [service.NAME] tables)", err);
    return top.CheckKeys({"service"}) && ReadServices(top, services, config);
  }
  ConfigTable top(file.path, document, "",
                  "in a clients.d file (only [[client]] tables)", err);
  return top.CheckKeys({"client"}) && ReadClients(top, clients, config);
}

bool ReadDropIns(const ConfigSources& sources, ConfigFileKind kind,
                 SeenPlaces* services, SeenClients* clients,
                 ServerConfig* config, std::string* err) {
  for (const ConfigFile& file : sources.files) {
    if (file.kind != kind) continue;
    if (!ReadDropIn(file, services, clients, config, err)) return false;
  }
  return true;
}

}  // namespace

bool AllowsBound(const ClientSettings& client, const ServiceSettings& service) {
  return client.allow_bound || client.require_bound || service.allow_bound ||
         service.require_bound;
}

bool RequiresBound(const ClientSettings& client,
                   const ServiceSettings& service) {
  return client.require_bound || service.require_bound;
}

const ServiceSettings* ServerConfig::FindService(
    const std::string& name) const {
  for (const ServiceSettings& service : services) {
    if (service.name == name) return &service;
  }
  return nullptr;
}

const ClientSettings* ServerConfig::FindClient(const std::string& name) const {
  for (const ClientSettings& client : clients) {
    if (client.name == name) return &client;
  }
  return nullptr;
}

bool ParseServerConfig(const std::string& text, const std::string& path,
                       ServerConfig* out, std::string* err) {
  ConfigSources sources;
  sources.files.push_back({ConfigFileKind::kMain, path, text});
  return ParseServerConfigSources(sources, out, err);
}

bool ParseServerConfigSources(const ConfigSources& sources, ServerConfig* out,
                              std::string* err) {
  if (sources.files.empty() || sources.files[0].kind != ConfigFileKind::kMain) {
    *err = "no main configuration file";
    return false;
  }
  const ConfigFile& main = sources.files[0];
  toml::table document;
  if (!ParseTomlDocument(main.text, main.path, &document, err)) return false;
  ServerConfig config;
  config.path = main.path;
  SeenPlaces services;
  SeenClients clients;
  // Knock before services (a service must stay out of the knock range),
  // services before clients (a client names existing services).
  ConfigTable top(main.path, document, "", "at the top level", err);
  if (!ReadTopLevel(top, &config) || !ReadKnock(top, &config) ||
      !ReadFirewall(top, &config) || !ReadServices(top, &services, &config) ||
      !ReadDropIns(sources, ConfigFileKind::kServices, &services, &clients,
                   &config, err) ||
      !CheckSomeService(top, config) || !ReadClients(top, &clients, &config) ||
      !ReadDropIns(sources, ConfigFileKind::kClients, &services, &clients,
                   &config, err)) {
    return false;
  }
  WarnNoClients(top, &config);
  *out = std::move(config);
  return true;
}

bool LoadServerConfig(const std::string& path, ServerConfig* out,
                      std::string* err) {
  ConfigSources sources;
  if (!ReadConfigSources(path, &sources, err)) return false;
  return ParseServerConfigSources(sources, out, err);
}

}  // namespace knock
