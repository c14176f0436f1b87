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

constexpr char kUsage[] =
    "Usage: knockd [-c FILE] audit init [--key-file PATH]\n"
    "       knockd [-c FILE] audit --verify --key KEY [FILES]\n"
    "       knockd audit --verify --key KEY1 FILES1 --key KEY2 FILES2 ...\n"
    "       knockd [-c FILE] audit [FILES] [--since T] [--until T]\n"
    "              [--client NAME] [--source ADDR] [--event KIND] "
    "[--json]\n\n"
    "init creates the sealing state (audit_key_file, by default\n"
    "<state_dir>/audit.key) and prints the verification key once: keep it\n"
    "off this machine. --verify checks every seal and the chain across\n"
    "FILES (oldest first) and prints \"OK, N records, sealed through T\"\n"
    "or the first record that fails and why; exit 1 on failure. KEY - is\n"
    "read from stdin; a KEY naming a file is read from its first line.\n"
    "With several --key (many servers' logs), each key checks the files\n"
    "after it, one line per server. Without --verify: a summary (grants\n"
    "per client and source, refusals per source, holes open now, a\n"
    "timeline; with many servers' logs also grants per server), or with a\n"
    "filter the matching events, one per line (--json: as logged).\n"
    "T is 2026-11-29, 2026-11-29T18:57:39Z or with .123456 before Z.\n"
    "FILES default to audit_log and its rotated files (audit_log.N).\n";

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
  const std::vector<std::string> args(invocation.args.begin() + 1,
                                      invocation.args.end());
  std::optional<std::string> key_file;
  std::vector<std::string> positional;
  int status = kExitOk;
  if (!ParseSubcommandLine(args, "audit", kUsage,
                           {{nullptr, "--key-file", nullptr, &key_file}},
                           &positional, &status))
    return status;
  if (!positional.empty() || (key_file && key_file->empty()))
    return UsageError("audit", "audit init takes only --key-file PATH");
  std::string key_path;
  if (key_file) {
    key_path = *key_file;
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

/// The filter options as given, before their values are checked.
struct FilterArgs {
  std::optional<std::string> since, until, client, source, event;
};

bool ParseEvent(const std::string& value, std::string* event,
                std::string* err) {
  const auto& kinds = knock::AuditEventKinds();
  if (std::find(kinds.begin(), kinds.end(), value) == kinds.end()) {
    *err = "unknown event kind \"" + value + "\" (one of:";
    for (std::string_view kind : kinds) *err += " " + std::string(kind);
    *err += ")";
    return false;
  }
  *event = value;
  return true;
}

bool ParseFilters(const FilterArgs& args, AuditOptions* options,
                  std::string* err) {
  knock::AuditFilter& filter = options->filter;
  options->filtered =
      args.since || args.until || args.client || args.source || args.event;
  if (args.since && !knock::ParseAuditTime(*args.since, &filter.since_us, err))
    return false;
  if (args.until && !knock::ParseAuditTime(*args.until, &filter.until_us, err))
    return false;
  if (args.client) filter.client = *args.client;
  if (args.source) {
    knock::IpAddress address;
    if (!knock::IpAddress::Parse(*args.source, &address, err)) return false;
    filter.source = address.ToString();
  }
  return !args.event || ParseEvent(*args.event, &filter.event, err);
}

/// Groups the files of a multi-server --verify by the --key in front of
/// them: the one thing the order of the command line says. The options
/// themselves were already checked by the common parser.
void GroupFilesByKey(const std::vector<std::string>& args,
                     AuditOptions* options) {
  static const std::vector<std::string> kValued = {
      "--key", "--since", "--until", "--client", "--source", "--event"};
  bool options_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (options_done || arg == "-" || arg.empty() || arg[0] != '-') {
      if (!options->servers.empty())
        options->servers.back().second.push_back(arg);
    } else if (arg == "--") {
      options_done = true;
    } else if (arg.rfind("--key=", 0) == 0) {
      options->servers.push_back({arg.substr(6), {}});
    } else if (std::find(kValued.begin(), kValued.end(), arg) !=
                   kValued.end() &&
               i + 1 < args.size()) {
      if (arg == "--key") options->servers.push_back({args[i + 1], {}});
      ++i;
    }
  }
}

size_t GroupedFileCount(const AuditOptions& options) {
  size_t n = 0;
  for (const auto& server : options.servers) n += server.second.size();
  return n;
}

bool CheckCombination(const AuditOptions& options, std::string* err) {
  if (options.servers.size() > 1 &&
      (std::any_of(options.servers.begin(), options.servers.end(),
                   [](const auto& server) { return server.second.empty(); }) ||
       GroupedFileCount(options) != options.files.size())) {
    *err = "with several --key, name each server's files after its --key";
  } else if (options.verify && !options.key) {
    *err = "--verify needs --key KEY";
  } else if (!options.verify && options.key) {
    *err = "--key is for --verify";
  } else if (options.verify && (options.filtered || options.json)) {
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
  FilterArgs filters;
  int status = kExitOk;
  if (!ParseSubcommandLine(invocation.args, "audit", kUsage,
                           {{nullptr, "--verify", &options.verify, nullptr},
                            {nullptr, "--json", &options.json, nullptr},
                            {nullptr, "--key", nullptr, &options.key},
                            {nullptr, "--since", nullptr, &filters.since},
                            {nullptr, "--until", nullptr, &filters.until},
                            {nullptr, "--client", nullptr, &filters.client},
                            {nullptr, "--source", nullptr, &filters.source},
                            {nullptr, "--event", nullptr, &filters.event}},
                           &options.files, &status))
    return status;
  GroupFilesByKey(invocation.args, &options);
  std::string err;
  if (!ParseFilters(filters, &options, &err) ||
      !CheckCombination(options, &err))
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
