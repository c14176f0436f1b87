#include "knock/lib/client_state.h"

#include <errno.h>
#include <string.h>

#ifdef _WIN32
#include <windows.h>
#else
#include <sys/file.h>
#endif

#include <fstream>
#include <sstream>
#include <vector>

#include "common/duration.h"
#include "common/knock_sequence.h"
#include "common/portable_file.h"
#include "common/private_directories.h"
#include "common/unique_fd.h"
#include "knock/lib/user_dirs.h"

namespace knock {

namespace {

// Windows older than this many before the current one can never be accepted
// again (servers allow a small skew), so their entries are dropped.
constexpr uint64_t kKeepWindows = 2;

constexpr char kHeader[] =
    "# knock: sequences already sent, never sent again. One per line:\n"
    "# server-public-key service step-seconds window slot\n";

/// One line of the state file: a sequence this user has sent.
struct UsedEntry {
  std::string server_key;
  std::string service;
  int64_t step_seconds = 0;
  uint64_t window = 0;
  int slot = 0;
};

bool ParseEntry(const std::string& line, UsedEntry* entry) {
  std::istringstream in(line);
  std::string extra;
  if (!(in >> entry->server_key >> entry->service >> entry->step_seconds >>
        entry->window >> entry->slot) ||
      (in >> extra))
    return false;
  return entry->step_seconds > 0 && entry->slot >= 0 && entry->slot <= 255;
}

bool ReadEntries(const std::string& path, std::vector<UsedEntry>* entries,
                 std::string* err) {
  entries->clear();
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT) return true;
    *err =
        "cannot read the knock state file \"" + path + "\": " + strerror(errno);
    return false;
  }
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.empty() || line[0] == '#') continue;
    UsedEntry entry;
    if (!ParseEntry(line, &entry)) {
      // Guessing past a damaged line could mean sending a sequence twice.
      *err = path + ":" + std::to_string(number) +
             ": not a line of the knock state file; remove the file if it "
             "is damaged";
      return false;
    }
    entries->push_back(entry);
  }
  return true;
}

bool WriteAllTo(int fd, const std::string& text) {
  for (size_t done = 0; done < text.size();) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// Rewrites the file atomically: readers see the old or the new list, never
// half of one, even if this process dies mid-write.
bool WriteEntries(const std::string& path,
                  const std::vector<UsedEntry>& entries, std::string* err) {
  std::string text = kHeader;
  for (const UsedEntry& e : entries)
    text += e.server_key + " " + e.service + " " +
            std::to_string(e.step_seconds) + " " + std::to_string(e.window) +
            " " + std::to_string(e.slot) + "\n";
  const std::string temporary = path + ".tmp";
  UniqueFd fd(
      open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  bool ok = fd.valid() && WriteAllTo(fd.get(), text) && fsync(fd.get()) == 0;
  int saved_errno = errno;
  fd.Reset();  // closed before the rename: Windows renames no open file
  if (ok && ReplaceFile(temporary, path)) return true;
  if (ok) saved_errno = errno;
  unlink(temporary.c_str());
  *err = "cannot write the knock state file \"" + path +
         "\": " + strerror(saved_errno);
  return false;
}

// Blocks until this process holds the whole file exclusively.
bool LockExclusive(int fd) {
#ifdef _WIN32
  OVERLAPPED whole{};
  if (LockFileEx(reinterpret_cast<HANDLE>(_get_osfhandle(fd)),
                 LOCKFILE_EXCLUSIVE_LOCK, 0, MAXDWORD, MAXDWORD, &whole))
    return true;
  errno = EACCES;
  return false;
#else
  return flock(fd, LOCK_EX) == 0;
#endif
}

/// An exclusive flock on "<state file>.lock", held for one
/// read-modify-write. The lock lives on a file of its own because the state
/// file itself is replaced by rename, which would leave a lock behind on
/// the old inode.
class StateLock {
 public:
  bool Acquire(const std::string& path, std::string* err) {
    const std::string lock_path = path + ".lock";
    fd_.Reset(open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    while (fd_.valid() && !LockExclusive(fd_.get()) && errno == EINTR) {
    }
    if (fd_.valid()) return true;
    *err = "cannot lock the knock state file \"" + lock_path +
           "\": " + strerror(errno);
    return false;
  }

 private:
  UniqueFd fd_;
};

bool InScope(const UsedEntry& entry, const SlotScope& scope) {
  return entry.server_key == scope.server_key.ToText() &&
         entry.service == scope.service &&
         entry.step_seconds == scope.step_seconds &&
         entry.window == scope.window;
}

bool IsUsed(const std::vector<UsedEntry>& entries, const SlotScope& scope,
            int slot) {
  for (const UsedEntry& entry : entries)
    if (InScope(entry, scope) && entry.slot == slot) return true;
  return false;
}

// Entries of `scope` itself stay even when its window is old: a window
// pinned with --at must not give out the same slot twice either.
void Prune(const SlotScope& scope, int64_t now_unix,
           std::vector<UsedEntry>* entries) {
  std::erase_if(*entries, [&scope, now_unix](const UsedEntry& entry) {
    return !InScope(entry, scope) &&
           entry.window + kKeepWindows < WindowAt(now_unix, entry.step_seconds);
  });
}

// "wait 12s" when the scope is the current window; a window pinned with
// --at elsewhere in time has no sensible wait.
std::string WhatToDo(const SlotScope& scope, int64_t now_unix) {
  const int64_t window_end =
      static_cast<int64_t>(scope.window + 1) * scope.step_seconds;
  const int64_t wait_seconds = window_end - now_unix;
  if (wait_seconds > 0 && wait_seconds <= scope.step_seconds)
    return "wait " + std::to_string(wait_seconds) + "s";
  return "pick another --at";
}

std::string WindowName(const SlotScope& scope, int64_t now_unix) {
  if (WindowAt(now_unix, scope.step_seconds) == scope.window)
    return "this " + FormatDurationMs(scope.step_seconds * 1000) + " window";
  return "window " + std::to_string(scope.window);
}

bool LowestFreeSlot(const std::vector<UsedEntry>& entries,
                    const SlotScope& scope, int slots, int64_t now_unix,
                    int* slot, std::string* err) {
  for (int candidate = 0; candidate < slots; ++candidate) {
    if (IsUsed(entries, scope, candidate)) continue;
    *slot = candidate;
    return true;
  }
  *err = "all " + std::to_string(slots) + " slots of " +
         WindowName(scope, now_unix) + " are used for " + scope.label + "; " +
         WhatToDo(scope, now_unix);
  return false;
}

bool Record(const std::string& path, const SlotScope& scope, int slot,
            int64_t now_unix, std::vector<UsedEntry>* entries,
            std::string* err) {
  Prune(scope, now_unix, entries);
  entries->push_back(UsedEntry{scope.server_key.ToText(), scope.service,
                               scope.step_seconds, scope.window, slot});
  return WriteEntries(path, *entries, err);
}

bool PrepareDirectory(const std::string& path, std::string* err) {
  const size_t slash = LastPathSeparator(path);
  if (slash == std::string::npos || slash == 0) return true;
  return MakePrivateDirectories(path.substr(0, slash), err);
}

}  // namespace

std::string DefaultClientStatePath() {
  return ClientFilePath(ClientStateDirectory(), "used");
}

bool PeekFreeSlot(const std::string& path, const SlotScope& scope, int slots,
                  int64_t now_unix, int* slot, std::string* err) {
  std::vector<UsedEntry> entries;
  return ReadEntries(path, &entries, err) &&
         LowestFreeSlot(entries, scope, slots, now_unix, slot, err);
}

bool ReserveFreeSlot(const std::string& path, const SlotScope& scope, int slots,
                     int64_t now_unix, int* slot, std::string* err) {
  StateLock lock;
  std::vector<UsedEntry> entries;
  return PrepareDirectory(path, err) && lock.Acquire(path, err) &&
         ReadEntries(path, &entries, err) &&
         LowestFreeSlot(entries, scope, slots, now_unix, slot, err) &&
         Record(path, scope, *slot, now_unix, &entries, err);
}

bool ReserveSlot(const std::string& path, const SlotScope& scope, int slot,
                 int64_t now_unix, std::string* err) {
  StateLock lock;
  std::vector<UsedEntry> entries;
  if (!PrepareDirectory(path, err) || !lock.Acquire(path, err) ||
      !ReadEntries(path, &entries, err))
    return false;
  if (IsUsed(entries, scope, slot)) {
    *err = "slot " + std::to_string(slot) + " of " +
           WindowName(scope, now_unix) + " was already sent for " +
           scope.label + "; a sequence is never sent twice (leave out --slot)";
    return false;
  }
  return Record(path, scope, slot, now_unix, &entries, err);
}

}  // namespace knock
