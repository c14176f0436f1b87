#include "knockd/shared/client_drop_in.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/config_names.h"
#include "common/x25519_key.h"
#include "knockd/shared/server_config.h"

namespace knock {

namespace {

constexpr mode_t kDropInMode = 0640;
constexpr mode_t kDropInDirMode = 0750;

std::string Quote(const std::string& text) { return "\"" + text + "\""; }

std::string Join(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

std::vector<std::string> ServiceNames(const ServerConfig& config) {
  std::vector<std::string> names;
  for (const ServiceSettings& service : config.services)
    names.push_back(service.name);
  return names;
}

bool CheckNewClient(const ServerConfig& config, const NewClient& client,
                    std::string* err) {
  if (!IsPeerName(client.name)) {
    *err = "a client name is 1-64 characters of A-Z a-z 0-9 _ . - (" +
           Quote(client.name) + ")";
    return false;
  }
  PublicKey key;
  std::string key_err;
  if (!ParsePublicKey(client.public_key, &key, &key_err)) {
    *err = "--key: " + key_err;
    return false;
  }
  for (const ClientSettings& other : config.clients) {
    if (other.name == client.name) {
      *err = "client " + Quote(client.name) + " exists already, in " +
             config.SourceOf(other);
      return false;
    }
    if (other.public_key.bytes == key.bytes) {
      *err = "that key is client " + Quote(other.name) + "'s already, in " +
             config.SourceOf(other) + " (" + Quote(client.public_key) + ")";
      return false;
    }
  }
  for (const std::string& service : client.services) {
    if (config.FindService(service) == nullptr) {
      *err = "no service " + Quote(service) +
             " (known: " + Join(ServiceNames(config)) + ")";
      return false;
    }
  }
  return true;
}

// The group of the directory that holds knockd.toml (/etc/knockd,
// root:knockd 0750) may read the drop-ins too: the daemon reads them as
// the knockd account under systemd. Not knockd.toml's own group: a file
// copied there by root is root's, and world-readable.
gid_t ConfigGroup(const std::string& config_path) {
  const size_t slash = config_path.rfind('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                       : config_path.substr(0, slash);
  struct stat info;
  return stat(dir.c_str(), &info) == 0 ? info.st_gid : getgid();
}

bool MakeDropInDirectory(const std::string& dir, gid_t group,
                         std::string* err) {
  if (mkdir(dir.c_str(), kDropInDirMode) == 0) {
    (void)!chown(dir.c_str(), static_cast<uid_t>(-1), group);
    return true;
  }
  if (errno == EEXIST) return true;
  *err = dir + ": cannot create (" + strerror(errno) + ")";
  return false;
}

bool WriteAll(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t wrote = write(fd, text.data() + done, text.size() - done);
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0) return false;
    done += static_cast<size_t>(wrote);
  }
  return true;
}

// link() instead of rename(): a file that appeared meanwhile is refused,
// never replaced.
bool WriteNewFile(const std::string& dir, const std::string& name,
                  const std::string& text, gid_t group, std::string* err) {
  std::string temp = dir + "/." + name + ".XXXXXX";
  const std::string path = dir + "/" + name;
  const int fd = mkstemp(temp.data());
  if (fd < 0) {
    *err = dir + ": cannot write (" + strerror(errno) + ")";
    return false;
  }
  (void)!fchown(fd, static_cast<uid_t>(-1), group);
  bool ok =
      fchmod(fd, kDropInMode) == 0 && WriteAll(fd, text) && fsync(fd) == 0;
  int saved = errno;
  close(fd);
  if (ok && link(temp.c_str(), path.c_str()) != 0) {
    ok = false;
    saved = errno;
  }
  unlink(temp.c_str());
  if (!ok) {
    *err = path + ": cannot write (" + strerror(saved) + ")";
    return false;
  }
  const int dir_fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    fsync(dir_fd);
    close(dir_fd);
  }
  return true;
}

}  // namespace

std::string ClientDropInText(const std::string& name,
                             const std::string& public_key,
                             const std::vector<std::string>& services) {
  std::string list;
  for (const std::string& service : services)
    list += (list.empty() ? "" : ", ") + Quote(service);
  return "# Written by knockd client add; removed by knockd client remove.\n"
         "[[client]]\n"
         "name = " +
         Quote(name) + "\npublic_key = " + Quote(public_key) +
         "\nservices = [" + list + "]\n";
}

bool AddClientDropIn(const std::string& config_path, const NewClient& client,
                     std::string* path, std::string* state_dir,
                     std::string* err) {
  ConfigSources sources;
  ServerConfig config;
  if (!ReadConfigSources(config_path, &sources, err) ||
      !ParseServerConfigSources(sources, &config, err) ||
      !CheckNewClient(config, client, err))
    return false;
  const std::vector<std::string> services =
      client.services.empty() ? ServiceNames(config) : client.services;
  const std::string dir =
      DropInDirectory(config_path, ConfigFileKind::kClients);
  const std::string file = client.name + ".toml";
  const std::string text =
      ClientDropInText(client.name, client.public_key, services);
  // The whole configuration with the new file must still load.
  sources.files.push_back({ConfigFileKind::kClients, dir + "/" + file, text});
  ServerConfig with_new;
  if (!ParseServerConfigSources(sources, &with_new, err)) return false;
  const gid_t group = ConfigGroup(config_path);
  if (!MakeDropInDirectory(dir, group, err) ||
      !WriteNewFile(dir, file, text, group, err))
    return false;
  *path = dir + "/" + file;
  *state_dir = config.state_dir;
  return true;
}

bool RemoveClientDropIn(const std::string& config_path, const std::string& name,
                        std::string* path, std::string* state_dir,
                        std::string* err) {
  ServerConfig config;
  if (!LoadServerConfig(config_path, &config, err)) return false;
  const ClientSettings* client = config.FindClient(name);
  if (client == nullptr) {
    std::vector<std::string> known;
    for (const ClientSettings& other : config.clients)
      known.push_back(other.name);
    *err = "no client " + Quote(name) + " (known: " + Join(known) + ")";
    return false;
  }
  const std::string dir =
      DropInDirectory(config_path, ConfigFileKind::kClients);
  if (config.SourceOf(*client).rfind(dir + "/", 0) != 0) {
    *err = "client " + Quote(name) + " is defined in " +
           config.SourceOf(*client) +
           ", not in a clients.d drop-in: remove it there";
    return false;
  }
  std::vector<std::string> others;
  for (const ClientSettings& other : config.clients) {
    if (config.SourceOf(other) == config.SourceOf(*client) &&
        other.name != name)
      others.push_back(other.name);
  }
  if (!others.empty()) {
    *err = config.SourceOf(*client) + " defines other clients too (" +
           Join(others) + "): edit it";
    return false;
  }
  if (unlink(config.SourceOf(*client).c_str()) != 0) {
    *err =
        config.SourceOf(*client) + ": cannot remove (" + strerror(errno) + ")";
    return false;
  }
  *path = config.SourceOf(*client);
  *state_dir = config.state_dir;
  return true;
}

}  // namespace knock
