#include "knock/lib/client_config.h"

#include <toml++/toml.h>

#include "common/config_names.h"
#include "common/config_table.h"
#include "common/sequence_shape_config.h"
#include "common/toml_document.h"
#include "knock/lib/bind_address.h"
#include "knock/lib/user_dirs.h"

namespace knock {

namespace {

// The longest DNS name; an address literal is shorter still.
constexpr size_t kMaxHostBytes = 253;

std::string Quote(std::string_view text) {
  return "\"" + std::string(text) + "\"";
}

bool IsHost(std::string_view host) {
  if (host.empty() || host.size() > kMaxHostBytes) return false;
  for (char c : host) {
    if (c <= ' ' || c == 0x7f) return false;
  }
  return true;
}

bool ReadHost(const ConfigTable& server, std::string* out) {
  if (!server.String("host", true, out)) return false;
  if (IsHost(*out)) return true;
  return server.Fail(server.Where("host"),
                     server.Name("host") +
                         " must be a host name or address without spaces (" +
                         Quote(*out) + ")");
}

bool ReadServerKey(const ConfigTable& server, PublicKey* out) {
  std::string text;
  std::string key_err;
  if (!server.String("public_key", true, &text)) return false;
  if (ParsePublicKey(text, out, &key_err)) return true;
  return server.Fail(server.Where("public_key"),
                     server.Name("public_key") + ": " + key_err);
}

bool ReadDefaultService(const ConfigTable& server, std::string* out) {
  if (!server.String("service", false, out)) return false;
  if (IsServiceName(*out)) return true;
  return server.Fail(server.Where("service"),
                     server.Name("service") +
                         " must be 1-64 characters of a-z 0-9 _ - (" +
                         Quote(*out) + ")");
}

bool ReadBindAddress(const ConfigTable& server, std::string* out) {
  if (!server.String("bind_address", false, out)) return false;
  std::string err;
  if (out->empty() || CheckBindAddress(*out, &err)) return true;
  return server.Fail(server.Where("bind_address"),
                     server.Name("bind_address") + " " + err);
}

bool ReadServer(const ConfigTable& servers, const toml::key& name,
                const toml::node& node, ClientConfig* config) {
  if (!IsPeerName(name.str())) {
    return servers.Fail(name.source(),
                        "a server name is 1-64 characters of A-Z a-z 0-9 _ . "
                        "- (" +
                            Quote(name.str()) + ")");
  }
  const toml::table* table = node.as_table();
  // Table() words the "must be a table, not ..." error like every other.
  if (table == nullptr) return servers.Table(name.str(), &table);
  std::string dotted = "server." + std::string(name.str());
  ConfigTable server = servers.Child(*table, dotted, "in [" + dotted + "]");
  ServerEntry entry;
  entry.name = std::string(name.str());
  if (!server.CheckKeys({"host", "public_key", "ports", "count", "protocol",
                         "step", "slots", "service", "bind_address"}) ||
      !ReadHost(server, &entry.host) ||
      !ReadServerKey(server, &entry.public_key) ||
      !ReadSequenceShape(server, {&entry.ports, &entry.count, &entry.protocol,
                                  &entry.step_seconds, &entry.slots}) ||
      !ReadDefaultService(server, &entry.service) ||
      !ReadBindAddress(server, &entry.bind_address)) {
    return false;
  }
  config->servers.push_back(std::move(entry));
  return true;
}

bool ReadServers(const ConfigTable& top, ClientConfig* config) {
  const toml::table* table = nullptr;
  if (!top.Table("server", &table)) return false;
  if (table == nullptr) return true;
  ConfigTable servers = top.Child(*table, "server", "in [server]");
  for (const toml::key* name : KeysInFileOrder(*table)) {
    if (!ReadServer(servers, *name, *table->get(name->str()), config)) {
      return false;
    }
  }
  return true;
}

}  // namespace

const ServerEntry* ClientConfig::FindServer(const std::string& name) const {
  for (const ServerEntry& server : servers) {
    if (server.name == name) return &server;
  }
  return nullptr;
}

bool ParseClientConfig(const std::string& text, const std::string& path,
                       ClientConfig* out, std::string* err) {
  toml::table document;
  if (!ParseTomlDocument(text, path, &document, err)) return false;
  ClientConfig config;
  config.path = path;
  ConfigTable top(path, document, "", "at the top level", err);
  if (!top.CheckKeys({"private_key_file", "server"}) ||
      !top.String("private_key_file", false, &config.private_key_file) ||
      !ReadServers(top, &config)) {
    return false;
  }
  *out = std::move(config);
  return true;
}

bool LoadClientConfig(const std::string& path, ClientConfig* out,
                      std::string* err) {
  std::string text;
  if (!ReadConfigText(path, &text, err)) return false;
  return ParseClientConfig(text, path, out, err);
}

std::string ExpandHome(const std::string& path) {
  const bool home_relative = path == "~" || path.rfind("~/", 0) == 0;
#ifdef _WIN32
  if (!home_relative && path.rfind("~\\", 0) != 0) return path;
#else
  if (!home_relative) return path;
#endif
  // Services started without a HOME still have a passwd entry.
  return HomeDirectory() + path.substr(1);
}

}  // namespace knock
