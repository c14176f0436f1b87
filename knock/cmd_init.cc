// `knock init`: make this machine's key pair if there is none, and print the
// [[client]] stanza the server's administrator pastes into knockd.toml.

#include <errno.h>
#include <stdlib.h>

#ifndef _WIN32
#include <pwd.h>
#include <unistd.h>
#endif

#include <cstdio>

#include "common/command_line.h"
#include "common/key_file.h"
#include "common/portable_file.h"
#include "common/private_directories.h"
#include "common/toml_quote.h"
#include "knock/lib/client_config.h"
#include "knock/lib/knock_flow.h"
#include "knock/lib/user_dirs.h"
#include "knock/subcommands.h"

namespace knock {

namespace {

constexpr char kUsage[] = R"(Usage: knock [-c FILE] init [--name NAME]

Creates the private key file (mode 0600; default
$XDG_CONFIG_HOME/knock/private.key or ~/.config/knock/private.key, or the
configuration's private_key_file) unless it exists, then prints the public
key and the [[client]] stanza to paste into the server's knockd.toml.

Options:
  -c FILE      configuration file
  --name NAME  the client's name in the stanza (default: user@hostname)
  -h, --help   this text
)";

std::string UserName() {
#ifdef _WIN32
  const char* user = getenv("USERNAME");
#else
  const passwd* entry = getpwuid(getuid());
  if (entry != nullptr && entry->pw_name != nullptr) return entry->pw_name;
  const char* user = getenv("USER");
#endif
  return user != nullptr ? user : "user";
}

std::string ShortHostName() {
#ifdef _WIN32
  const char* computer = getenv("COMPUTERNAME");
  std::string host = computer != nullptr ? computer : "localhost";
#else
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "localhost";
  std::string host = name;
#endif
  return host.substr(0, host.find('.'));
}

// Reads the key at `path`, or creates it (and its directory, 0700) if
// there is no file yet.
bool ReadOrCreateKey(const std::string& path, PrivateKey* key, bool* created,
                     std::string* err) {
  struct stat info {};
  *created = stat(path.c_str(), &info) != 0 && errno == ENOENT;
  if (!*created) return ReadPrivateKeyFile(path, key, err);
  const size_t slash = LastPathSeparator(path);
  if (slash != std::string::npos && slash > 0 &&
      !MakePrivateDirectories(path.substr(0, slash), err))
    return false;
  *key = PrivateKey::Generate();
  return WritePrivateKeyFile(path, *key, err);
}

void PrintStanza(const std::string& path, bool created, const PublicKey& key,
                 const std::string& name) {
  printf("# private key: %s (%s)\n", path.c_str(),
         created ? "created" : "already there");
  printf("# public key:  %s\n", key.ToText().c_str());
  printf(
      "# Paste this into the server's knockd.toml, then run: knockd check\n");
  printf("[[client]]\n");
  printf("name = %s\n", QuoteTomlString(name).c_str());
  printf("public_key = %s\n", QuoteTomlString(key.ToText()).c_str());
  printf("services = [\"ssh\"]\n");
}

}  // namespace

int RunInit(const Invocation& invocation) {
  bool help = false;
  std::optional<std::string> config_path = invocation.config_path;
  std::optional<std::string> name;
  std::vector<std::string> positional;
  std::string err;
  if (!ParseCommandLine(invocation.args,
                        {{"-c", "--config", nullptr, &config_path},
                         {nullptr, "--name", nullptr, &name},
                         {"-h", "--help", &help, nullptr}},
                        "see: knock init --help", &positional, &err)) {
    PrintError(err);
    return kExitUsage;
  }
  if (help) {
    fputs(kUsage, stdout);
    return kExitOk;
  }
  if (!positional.empty() || (name && name->empty())) {
    PrintError((positional.empty()
                    ? std::string("--name is empty")
                    : "unexpected argument \"" + positional[0] + "\"") +
               " (see: knock init --help)");
    return kExitUsage;
  }
  ClientConfig config;
  if (!LoadConfigIfAny(ConfigPath(config_path), config_path.has_value(),
                       &config, &err)) {
    PrintError(err);
    return kExitError;
  }
  const std::string path = PrivateKeyPath(config);
  PrivateKey key;
  bool created = false;
  if (!ReadOrCreateKey(path, &key, &created, &err)) {
    PrintError(err);
    return kExitError;
  }
  PrintStanza(path, created, key.Public(),
              name.value_or(UserName() + "@" + ShortHostName()));
  return kExitOk;
}

}  // namespace knock
