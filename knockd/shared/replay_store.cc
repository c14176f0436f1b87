#include "knockd/shared/replay_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/exclusive_create.h"

namespace knock {

namespace {

constexpr char kFileHeader[] = "# knockd used sequences v2";
// The line that keeps the floor across a restart (absent in v1 files). A
// comment to readers before it, so that going back to one still starts.
constexpr char kFloorPrefix[] = "# pruned_until_unix ";

int64_t WindowStartUnix(uint64_t window, int64_t step_seconds) {
  return static_cast<int64_t>(window) * step_seconds;
}

}  // namespace

size_t UsedKeyHash::operator()(const UsedKey& key) const {
  uint64_t h;
  std::memcpy(&h, key.client.bytes.data(), sizeof h);
  h ^= std::hash<std::string>()(key.service) + 0x9e3779b97f4a7c15ULL;
  h ^= (key.window * 0xbf58476d1ce4e5b9ULL) ^ key.slot;
  return static_cast<size_t>(h);
}

UseDecision ReplayStore::Use(const UsedKey& key, int64_t step_seconds,
                             const IpAddress& source, int64_t now_us,
                             int64_t open_for_us, const UsedEntry** entry) {
  *entry = nullptr;
  if (pruned_until_unix_ &&
      WindowStartUnix(key.window, step_seconds) < *pruned_until_unix_)
    return UseDecision::kForgotten;
  auto [it, inserted] = used_.try_emplace(key);
  UsedEntry& used = it->second;
  *entry = &used;
  if (inserted) {
    used.first_source = source;
    used.grant_expires_us = now_us + open_for_us;
    return UseDecision::kFirstUse;
  }
  if (used.first_source == source && now_us < used.grant_expires_us) {
    used.grant_expires_us = now_us + open_for_us;
    return UseDecision::kRefresh;
  }
  return UseDecision::kReplay;
}

std::optional<UsedEntry> ReplayStore::Find(const UsedKey& key) const {
  const auto it = used_.find(key);
  if (it == used_.end()) return std::nullopt;
  return it->second;
}

void ReplayStore::Restore(const UsedKey& key,
                          const std::optional<UsedEntry>& before) {
  if (before) {
    used_[key] = *before;
  } else {
    used_.erase(key);
  }
}

void ReplayStore::PruneBefore(uint64_t oldest_window, int64_t step_seconds) {
  std::erase_if(used_, [&](const auto& item) {
    const uint64_t window = item.first.window;
    if (window >= oldest_window) return false;
    // The floor follows what was used, not the clock: a clock stepped a year
    // ahead with nothing used in between raises it no further than before.
    const int64_t end = WindowStartUnix(window + 1, step_seconds);
    if (!pruned_until_unix_ || end > *pruned_until_unix_)
      pruned_until_unix_ = end;
    return true;
  });
}

bool ReplayStore::Load(std::string* err) {
  if (path_.empty()) return true;
  if (access(path_.c_str(), F_OK) != 0 && errno == ENOENT) return true;
  std::ifstream in(path_);
  if (!in) {
    *err = path_ + ": cannot read the used-sequence store: " + strerror(errno);
    return false;
  }
  std::string line;
  int line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.starts_with(kFloorPrefix)) {
      std::istringstream fields(line.substr(sizeof kFloorPrefix - 1));
      std::string rest;
      int64_t floor = 0;
      if (!(fields >> floor) || floor < 0 || fields >> rest) {
        *err = path_ + ":" + std::to_string(line_number) +
               ": corrupt used-sequence line \"" + line + "\"";
        return false;
      }
      if (!pruned_until_unix_ || floor > *pruned_until_unix_)
        pruned_until_unix_ = floor;
      continue;
    }
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string client, service, source;
    uint64_t window = 0;
    unsigned slot = 0;
    int64_t expires_us = 0;
    UsedKey key;
    UsedEntry entry;
    std::string field_err;
    if (!(fields >> window >> slot >> service >> client >> source >>
          expires_us) ||
        slot > 255 || !ParsePublicKey(client, &key.client, &field_err) ||
        !IpAddress::Parse(source, &entry.first_source, &field_err)) {
      *err = path_ + ":" + std::to_string(line_number) +
             ": corrupt used-sequence line \"" + line + "\"";
      return false;
    }
    key.service = service;
    key.window = window;
    key.slot = static_cast<uint8_t>(slot);
    entry.grant_expires_us = expires_us;
    used_[key] = entry;
  }
  return true;
}

bool ReplayStore::Save(std::string* err) const {
  if (path_.empty()) return true;
  std::ostringstream out;
  out << kFileHeader
      << "\n# window slot service client_key first_source "
         "grant_expires_us\n";
  if (pruned_until_unix_) out << kFloorPrefix << *pruned_until_unix_ << '\n';
  for (const auto& [key, entry] : used_) {
    out << key.window << ' ' << unsigned{key.slot} << ' ' << key.service << ' '
        << key.client.ToText() << ' ' << entry.first_source.ToString() << ' '
        << entry.grant_expires_us << '\n';
  }
  const std::string text = out.str();
  const std::string temporary = path_ + ".tmp";
  UniqueFd fd = CreateExclusive(temporary, 0600);
  if (!fd.valid()) {
    *err = temporary +
           ": cannot write the used-sequence store: " + strerror(errno);
    return false;
  }
  // No fsync: rename makes the update atomic against a crash of the daemon;
  // a power loss outlasting the accepted windows (a minute or two) makes the
  // lost entries worthless to a replayer anyway.
  const bool written = write(fd.get(), text.data(), text.size()) ==
                       static_cast<ssize_t>(text.size());
  const int write_errno = errno;
  fd.Reset();
  if (!written || rename(temporary.c_str(), path_.c_str()) != 0) {
    *err = path_ + ": cannot write the used-sequence store: " +
           strerror(written ? errno : write_errno);
    unlink(temporary.c_str());
    return false;
  }
  return true;
}

}  // namespace knock
