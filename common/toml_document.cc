#include "common/toml_document.h"

#include <cerrno>
#include <cstring>

#include "common/config_error.h"
#include "common/portable_file.h"
#include "common/unique_fd.h"

namespace knock {

namespace {

// A server with tens of thousands of clients has a configuration of a few
// megabytes; this only stops a wrong path (a device, a huge log) from being
// read whole.
constexpr size_t kMaxConfigBytes = size_t{64} << 20;

bool CannotRead(const std::string& path, const char* reason, std::string* err) {
  *err = path + ": cannot read (" + reason + ")";
  return false;
}

}  // namespace

bool ReadConfigText(const std::string& path, std::string* text,
                    std::string* err) {
  const UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return CannotRead(path, std::strerror(errno), err);
  struct stat st;
  // Pipes are fine (`knockd -c /dev/stdin check`); a directory is a mistake.
  if (fstat(fd.get(), &st) == 0 && S_ISDIR(st.st_mode))
    return CannotRead(path, "it is a directory", err);
  std::string contents;
  char buffer[8192];
  ssize_t got;
  while ((got = read(fd.get(), buffer, sizeof buffer)) > 0) {
    contents.append(buffer, static_cast<size_t>(got));
    if (contents.size() > kMaxConfigBytes)
      return CannotRead(path, "larger than 64 MiB", err);
  }
  if (got < 0) return CannotRead(path, std::strerror(errno), err);
  *text = std::move(contents);
  return true;
}

bool ParseTomlDocument(const std::string& text, const std::string& path,
                       toml::table* out, std::string* err) {
  // Debian's toml++ is built with TOML_EXCEPTIONS=1 (its symbols live in
  // toml::v3::ex), so parse() reports syntax errors by throwing.
  try {
    *out = toml::parse(std::string_view(text), std::string_view(path));
    return true;
  } catch (const toml::parse_error& e) {
    *err = ConfigError(path, e.source(), e.description());
  } catch (const std::exception& e) {
    *err = ConfigErrorAt(path, 1, 1, e.what());
  }
  return false;
}

}  // namespace knock
