// `knockd audit`: create the sealing key, verify the audit log, or read it
// back as a summary or filtered events (docs/AUDIT.md).

#include <dirent.h>
#include <sodium.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
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
    "       knockd [-c FILE] audit [FILES] [--since T] [--until T]\n"
    "              [--client NAME] [--source ADDR] [--event KIND] "
    "[--json]\n\n"
    "init creates the sealing state (audit_key_file, by default\n"
    "<state_dir>/audit.key) and prints the verification key once: keep it\n"
    "off this machine. --verify checks every seal and the chain across\n"
    "FILES (oldest first) and prints \"OK, N records, sealed through T\"\n"
    "or the first record that fails and why; exit 1 on failure. KEY - is\n"
    "read from stdin. Without --verify: a summary (grants per client and\n"
    "source, refusals per source, holes open now, a timeline), or with a\n"
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

bool CheckCombination(const AuditOptions& options, std::string* err) {
  if (options.verify && !options.key) {
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
  if (option == "-") {
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
  std::string err;
  if (!ParseFilters(filters, &options, &err) ||
      !CheckCombination(options, &err))
    return UsageError("audit", err);
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
