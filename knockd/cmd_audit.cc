// `knockd audit`: create the sealing key, verify the audit log, or read it
// back as a summary or filtered events (docs/AUDIT.md).

#include <dirent.h>
#include <sodium.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>

#include "common/clock.h"
#include "common/ip_address.h"
#include "knockd/audit/audit_seal.h"
#include "knockd/audit/audit_summary.h"
#include "knockd/audit/audit_verify.h"
#include "knockd/shared/server_config.h"
#include "knockd/subcommands.h"

namespace knockd {

namespace {

constexpr mode_t kKeyDirMode = 0700;
// "<log>." and 12 digits: the names AuditLog::Rotate gives old files.
constexpr size_t kRotatedSuffixDigits = 12;

/// The command line of `knockd audit` other than init.
struct AuditOptions {
  bool verify = false;
  bool json = false;
  bool filtered = false;
  std::optional<std::string> key;
  knock::AuditFilter filter;
  std::vector<std::string> files;
  /// With several --key (logs of several servers): each key and the files
  /// named after it, up to the next --key.
  std::vector<std::pair<std::string, std::vector<std::string>>> servers;
};

bool LoadConfig(const Invocation& invocation, knock::ServerConfig* config) {
  std::string err;
  if (knock::LoadServerConfig(invocation.config_path, config, &err))
    return true;
  fprintf(stderr, "%s\n", err.c_str());
  return false;
}

std::string Directory(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

/// The configured log's rotated files, oldest first, then the log itself.
std::vector<std::string> ConfiguredFiles(const std::string& log_path) {
  std::vector<std::string> files;
  const std::string dir = Directory(log_path);
  const std::string base = log_path.substr(log_path.rfind('/') + 1) + ".";
  if (DIR* listing = opendir(dir.c_str())) {
    while (const dirent* entry = readdir(listing)) {
      const std::string name = entry->d_name;
      if (name.size() == base.size() + kRotatedSuffixDigits &&
          name.compare(0, base.size(), base) == 0 &&
          name.find_first_not_of("0123456789", base.size()) ==
              std::string::npos)
        files.push_back(dir + "/" + name);
    }
    closedir(listing);
  }
  std::sort(files.begin(), files.end());
  files.push_back(log_path);
  return files;
}

int RunInit(const Invocation& invocation) {
  std::string key_path;
  const std::vector<std::string>& args = invocation.args;
  if (args.size() == 3 && args[1] == "--key-file") {
    key_path = args[2];
  } else if (args.size() != 1) {
    return UsageError("audit", "audit init takes only --key-file PATH");
  } else {
    knock::ServerConfig config;
    if (!LoadConfig(invocation, &config)) return kExitError;
    key_path = config.audit_key_file;
  }
  const std::string dir = Directory(key_path);
  if (mkdir(dir.c_str(), kKeyDirMode) != 0 && errno != EEXIST) {
    PrintError(dir + ": cannot create the directory: " + strerror(errno));
    return kExitError;
  }
  knock::AuditKey first_key;
  std::string err;
  if (!knock::CreateAuditSealState(key_path, &first_key, &err)) {
    PrintError(err);
    return kExitError;
  }
  printf("%s\n", knock::EncodeKey(first_key).c_str());
  fprintf(stderr,
          "knockd: the line above is the audit verification key (key id %s).\n"
          "knockd: keep it off this machine; it is not stored here and is "
          "shown only once.\n"
          "knockd: sealing state: %s\n"
          "knockd: verify with: knockd audit --verify --key KEY FILES\n",
          knock::AuditKeyId(first_key).c_str(), key_path.c_str());
  sodium_memzero(first_key.data(), first_key.size());
  return kExitOk;
}

bool TakeValue(const std::vector<std::string>& args, size_t* i,
               std::string* value) {
  if (*i + 1 >= args.size()) return false;
  *value = args[++*i];
  return true;
}

/// Parses one filter option at args[*i]; false with `err` on a bad value.
bool ParseFilter(const std::vector<std::string>& args, size_t* i,
                 AuditOptions* options, std::string* err) {
  const std::string option = args[*i];
  std::string value;
  if (!TakeValue(args, i, &value)) {
    *err = option + " needs a value";
    return false;
  }
  knock::AuditFilter& filter = options->filter;
  options->filtered = true;
  if (option == "--since")
    return knock::ParseAuditTime(value, &filter.since_us, err);
  if (option == "--until")
    return knock::ParseAuditTime(value, &filter.until_us, err);
  if (option == "--client") {
    filter.client = value;
    return true;
  }
  if (option == "--source") {
    knock::IpAddress address;
    if (!knock::IpAddress::Parse(value, &address, err)) return false;
    filter.source = address.ToString();
    return true;
  }
  const auto& kinds = knock::AuditEventKinds();
  if (std::find(kinds.begin(), kinds.end(), value) == kinds.end()) {
    *err = "unknown event kind \"" + value + "\" (one of:";
    for (std::string_view kind : kinds) *err += " " + std::string(kind);
    *err += ")";
    return false;
  }
  filter.event = value;
  return true;
}

bool ParseOptions(const std::vector<std::string>& args, AuditOptions* options,
                  std::string* err) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    std::string value;
    if (arg == "--verify") {
      options->verify = true;
    } else if (arg == "--json") {
      options->json = true;
    } else if (arg == "--key") {
      if (!TakeValue(args, &i, &value)) {
        *err = "--key needs the verification key (or - to read it from stdin)";
        return false;
      }
      options->key = value;
      options->servers.push_back({value, {}});
    } else if (arg == "--since" || arg == "--until" || arg == "--client" ||
               arg == "--source" || arg == "--event") {
      if (!ParseFilter(args, &i, options, err)) return false;
    } else if (arg.size() > 1 && arg[0] == '-') {
      *err = "unknown option \"" + arg + "\"";
      return false;
    } else {
      options->files.push_back(arg);
      if (!options->servers.empty())
        options->servers.back().second.push_back(arg);
    }
  }
  if (options->servers.size() > 1 &&
      std::any_of(options->servers.begin(), options->servers.end(),
                  [](const auto& server) { return server.second.empty(); })) {
    *err = "with several --key, name each server's files after its --key";
  } else if (options->servers.size() > 1 && options->files.size() != [&] {
               size_t n = 0;
               for (const auto& server : options->servers)
                 n += server.second.size();
               return n;
             }()) {
    *err = "with several --key, name each server's files after its --key";
  } else if (options->verify && !options->key) {
    *err = "--verify needs --key KEY";
  } else if (!options->verify && options->key) {
    *err = "--key is for --verify";
  } else if (options->verify && (options->filtered || options->json)) {
    *err = "--verify checks whole files: no filters or --json";
  }
  return err->empty();
}

bool ReadKey(const std::string& option, knock::AuditKey* key,
             std::string* err) {
  std::string text = option;
  struct stat info;
  // A key file (one per server when verifying many): its first line.
  if (option != "-" && stat(option.c_str(), &info) == 0 &&
      S_ISREG(info.st_mode)) {
    std::ifstream in(option);
    if (!std::getline(in, text)) text.clear();
    while (!text.empty() && (text.back() == '\r' || text.back() == ' '))
      text.pop_back();
  } else if (option == "-") {
    if (!std::getline(std::cin, text)) text.clear();
    while (!text.empty() && (text.back() == '\r' || text.back() == ' '))
      text.pop_back();
  }
  const bool ok = knock::DecodeKey(text, key, err, true);
  sodium_memzero(text.data(), text.size());
  if (!ok) *err = "--key: " + *err;
  return ok;
}

int Verify(const AuditOptions& options,
           const std::vector<knock::AuditFile>& files) {
  knock::AuditKey key;
  std::string err;
  if (!ReadKey(*options.key, &key, &err)) return UsageError("audit", err);
  const knock::AuditVerifyResult result = knock::VerifyAuditFiles(key, files);
  sodium_memzero(key.data(), key.size());
  printf("%s\n", knock::FormatAuditVerifyResult(result).c_str());
  for (const std::string& note : result.notes)
    printf("note: %s\n", note.c_str());
  return result.ok ? kExitOk : kExitError;
}

/// Logs of several servers, each under its own key: one line per server,
/// "FIRST_FILE: OK, ..." or its failure; 1 if any fails.
int VerifyServers(const AuditOptions& options) {
  bool all_ok = true;
  for (const auto& [key_option, paths] : options.servers) {
    std::vector<knock::AuditFile> files;
    knock::AuditKey key;
    std::string err;
    if (!ReadKey(key_option, &key, &err)) return UsageError("audit", err);
    if (!knock::ReadAuditFiles(paths, &files, &err)) {
      sodium_memzero(key.data(), key.size());
      PrintError(err);
      return kExitError;
    }
    const knock::AuditVerifyResult result = knock::VerifyAuditFiles(key, files);
    sodium_memzero(key.data(), key.size());
    printf("%s: %s\n", paths.front().c_str(),
           knock::FormatAuditVerifyResult(result).c_str());
    for (const std::string& note : result.notes)
      printf("%s: note: %s\n", paths.front().c_str(), note.c_str());
    all_ok = all_ok && result.ok;
  }
  return all_ok ? kExitOk : kExitError;
}

int Show(const AuditOptions& options,
         const std::vector<knock::AuditFile>& files) {
  std::vector<std::string> skipped;
  const std::vector<knock::AuditEvent> events =
      knock::ReadAuditEvents(files, &skipped);
  for (const std::string& note : skipped) PrintError(note);
  if (!options.filtered && !options.json) {
    fputs(knock::FormatAuditSummary(events, knock::SystemClock().NowMicros())
              .c_str(),
          stdout);
    return kExitOk;
  }
  for (const knock::AuditEvent& event :
       knock::FilterAuditEvents(events, options.filter)) {
    const std::string line =
        options.json ? event.text : knock::FormatAuditEvent(event);
    printf("%s\n", line.c_str());
  }
  return kExitOk;
}

}  // namespace

int RunAudit(const Invocation& invocation) {
  if (!invocation.args.empty() && invocation.args[0] == "init")
    return RunInit(invocation);
  AuditOptions options;
  std::string err;
  if (!ParseOptions(invocation.args, &options, &err))
    return UsageError("audit", err);
  if (options.verify && options.servers.size() > 1)
    return VerifyServers(options);
  if (options.files.empty()) {
    knock::ServerConfig config;
    if (!LoadConfig(invocation, &config)) return kExitError;
    options.files = ConfiguredFiles(config.audit_log);
  }
  std::vector<knock::AuditFile> files;
  if (!knock::ReadAuditFiles(options.files, &files, &err)) {
    PrintError(err);
    return kExitError;
  }
  return options.verify ? Verify(options, files) : Show(options, files);
}

}  // namespace knockd
