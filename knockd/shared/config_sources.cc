#include "knockd/shared/config_sources.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "common/toml_document.h"

namespace knock {

namespace {

constexpr size_t kMaxConfigBytes = 64u << 20;
constexpr std::string_view kBundleMagic = "knockd-config-bundle 1\n";

bool IsDropInName(std::string_view name) {
  constexpr std::string_view kSuffix = ".toml";
  return name.size() > kSuffix.size() && name[0] != '.' &&
         name.substr(name.size() - kSuffix.size()) == kSuffix;
}

// Sorted bytewise, as `ls` in the C locale shows them: 10-x before 9-x.
bool ListDropIns(const std::string& dir, std::vector<std::string>* out,
                 std::string* err) {
  DIR* handle = opendir(dir.c_str());
  if (handle == nullptr) {
    if (errno == ENOENT) return true;
    *err = dir + ": cannot read (" + strerror(errno) + ")";
    return false;
  }
  while (const dirent* entry = readdir(handle)) {
    if (IsDropInName(entry->d_name)) out->push_back(dir + "/" + entry->d_name);
  }
  closedir(handle);
  std::sort(out->begin(), out->end());
  return true;
}

char KindLetter(ConfigFileKind kind) {
  switch (kind) {
    case ConfigFileKind::kMain:
      return 'm';
    case ConfigFileKind::kServices:
      return 's';
    case ConfigFileKind::kClients:
      return 'c';
  }
  return 'm';
}

bool KindFromLetter(char letter, ConfigFileKind* out) {
  for (ConfigFileKind kind : {ConfigFileKind::kMain, ConfigFileKind::kServices,
                              ConfigFileKind::kClients}) {
    if (KindLetter(kind) == letter) {
      *out = kind;
      return true;
    }
  }
  return false;
}

/// Reads "<decimal> " or "<decimal>\n" from the front of `rest`.
bool TakeSize(std::string_view* rest, char end, size_t* out) {
  const size_t stop = rest->find(end);
  if (stop == std::string_view::npos || stop == 0) return false;
  // One spelling per size ("7", never "07"): a bundle decodes only from
  // the bytes its encoder writes.
  if (stop > 1 && (*rest)[0] == '0') return false;
  const char* first = rest->data();
  const auto [ptr, ec] = std::from_chars(first, first + stop, *out);
  if (ec != std::errc() || ptr != first + stop) return false;
  rest->remove_prefix(stop + 1);
  return true;
}

}  // namespace

std::string DropInDirectory(const std::string& main_path, ConfigFileKind kind) {
  const size_t slash = main_path.rfind('/');
  const std::string dir =
      slash == std::string::npos ? "." : main_path.substr(0, slash);
  return dir +
         (kind == ConfigFileKind::kClients ? "/clients.d" : "/services.d");
}

bool ReadConfigSources(const std::string& main_path, ConfigSources* out,
                       std::string* err) {
  ConfigSources sources;
  ConfigFile main{ConfigFileKind::kMain, main_path, ""};
  if (!ReadConfigText(main_path, &main.text, err)) return false;
  size_t total = main.text.size();
  sources.files.push_back(std::move(main));
  for (ConfigFileKind kind :
       {ConfigFileKind::kServices, ConfigFileKind::kClients}) {
    std::vector<std::string> paths;
    if (!ListDropIns(DropInDirectory(main_path, kind), &paths, err))
      return false;
    for (std::string& path : paths) {
      ConfigFile file{kind, std::move(path), ""};
      if (!ReadConfigText(file.path, &file.text, err)) return false;
      total += file.text.size();
      if (total > kMaxConfigBytes) {
        *err = file.path +
               ": cannot read (the configuration with its "
               "drop-ins is larger than 64 MiB)";
        return false;
      }
      sources.files.push_back(std::move(file));
    }
  }
  *out = std::move(sources);
  return true;
}

std::string EncodeConfigSources(const ConfigSources& sources) {
  std::string bundle(kBundleMagic);
  for (const ConfigFile& file : sources.files) {
    bundle += KindLetter(file.kind);
    bundle += ' ' + std::to_string(file.path.size()) + ' ' +
              std::to_string(file.text.size()) + '\n';
    bundle += file.path;
    bundle += file.text;
  }
  return bundle;
}

bool DecodeConfigSources(std::string_view bundle, ConfigSources* out,
                         std::string* err) {
  if (bundle.substr(0, kBundleMagic.size()) != kBundleMagic) {
    *err = "the configuration bundle does not start with its magic line";
    return false;
  }
  std::string_view rest = bundle.substr(kBundleMagic.size());
  ConfigSources sources;
  while (!rest.empty()) {
    ConfigFile file;
    size_t path_bytes = 0;
    size_t text_bytes = 0;
    if (rest.size() < 2 || !KindFromLetter(rest[0], &file.kind) ||
        rest[1] != ' ') {
      *err = "the configuration bundle has a bad file header";
      return false;
    }
    rest.remove_prefix(2);
    if (!TakeSize(&rest, ' ', &path_bytes) ||
        !TakeSize(&rest, '\n', &text_bytes) || path_bytes > rest.size() ||
        text_bytes > rest.size() - path_bytes) {
      *err = "the configuration bundle has a bad file size";
      return false;
    }
    file.path = std::string(rest.substr(0, path_bytes));
    file.text = std::string(rest.substr(path_bytes, text_bytes));
    rest.remove_prefix(path_bytes + text_bytes);
    sources.files.push_back(std::move(file));
  }
  if (sources.files.empty() || sources.files[0].kind != ConfigFileKind::kMain) {
    *err = "the configuration bundle does not start with the main file";
    return false;
  }
  *out = std::move(sources);
  return true;
}

}  // namespace knock
