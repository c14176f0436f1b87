#include "knock/lib/client_state.h"

#include <errno.h>
#include <string.h>

#ifdef _WIN32
#include <windows.h>
#else
#include <sys/file.h>
#endif

#include <algorithm>
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

// The state file is padded with empty lines to a whole number of these, so
// that a new record is written into the padding in place (see Record).
constexpr size_t kFileBlockBytes = 4096;

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

// Reads the whole state file; a missing file is empty.
bool ReadText(const std::string& path, std::string* text, std::string* err) {
  text->clear();
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return true;
    *err =
        "cannot read the knock state file \"" + path + "\": " + strerror(errno);
    return false;
  }
  std::ostringstream all;
  all << in.rdbuf();
  *text = all.str();
  return true;
}

bool ParseEntries(const std::string& path, const std::string& text,
                  std::vector<UsedEntry>* entries, std::string* err) {
  entries->clear();
  std::istringstream in(text);
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

bool ReadEntries(const std::string& path, std::string* text,
                 std::vector<UsedEntry>* entries, std::string* err) {
  return ReadText(path, text, err) && ParseEntries(path, *text, entries, err);
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

std::string EntryLine(const UsedEntry& e) {
  return e.server_key + " " + e.service + " " + std::to_string(e.step_seconds) +
         " " + std::to_string(e.window) + " " + std::to_string(e.slot) + "\n";
}

std::string WriteError(const std::string& path, int error) {
  return "cannot write the knock state file \"" + path +
         "\": " + strerror(error);
}

int SyncData(int fd) {
#ifdef _WIN32
  return fsync(fd);
#else
  return fdatasync(fd);
#endif
}

// fsyncs the directory that holds `path`, so that a file created or renamed
// there survives a crash (nothing to do on Windows, whose MoveFileEx with
// write-through covers it).
bool SyncDirectoryOf(const std::string& path) {
#ifdef _WIN32
  (void)path;
  return true;
#else
  const size_t slash = LastPathSeparator(path);
  const std::string directory =
      slash == std::string::npos ? "." : path.substr(0, slash + 1);
  const int fd = open(directory.c_str(), O_RDONLY | O_CLOEXEC);
  const bool ok = fd >= 0 && fsync(fd) == 0;
  const int saved_errno = errno;
  if (fd >= 0) close(fd);
  errno = saved_errno;
  return ok;
#endif
}

// Rewrites the file atomically and durably: readers see the old or the new
// list, never half of one, even if this process or the machine dies
// mid-write. The new file is padded with empty lines to whole blocks, room
// for the next records (see Record).
bool RewriteEntries(const std::string& path,
                    const std::vector<UsedEntry>& entries, std::string* err) {
  std::string text = kHeader;
  for (const UsedEntry& e : entries) text += EntryLine(e);
  const size_t blocks = text.size() / kFileBlockBytes + 1;
  text.resize(blocks * kFileBlockBytes, '\n');
  const std::string temporary = path + ".tmp";
  UniqueFd fd(
      open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  bool ok = fd.valid() && WriteAllTo(fd.get(), text) && fsync(fd.get()) == 0;
  int saved_errno = errno;
  fd.Reset();  // closed before the rename: Windows renames no open file
  if (ok && ReplaceFile(temporary, path) && SyncDirectoryOf(path)) return true;
  if (ok) saved_errno = errno;
  unlink(temporary.c_str());
  *err = WriteError(path, saved_errno);
  return false;
}

// Where the next record goes: after the last line that is not empty.
size_t EndOfRecords(const std::string& text) {
  const size_t last = text.find_last_not_of('\n');
  return last == std::string::npos ? 0 : last + 2;
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

// Records `slot`. Usually the new line is written into the padding of
// empty lines at the end of the file, in place and not yet durable: the
// file keeps its size, so `pending` later makes it durable with one data
// write and a flush (fdatasync), and no byte of an earlier record is
// touched, so a crash mid-write cannot damage them. When the padding is
// used up (every ~50 knocks) or the file is new, the whole file is pruned
// and rewritten, durably before this returns.
bool Record(const std::string& path, const SlotScope& scope, int slot,
            int64_t now_unix, const std::string& text,
            std::vector<UsedEntry>* entries, PendingRecord* pending,
            std::string* err) {
  const UsedEntry entry{scope.server_key.ToText(), scope.service,
                        scope.step_seconds, scope.window, slot};
  const std::string line = EntryLine(entry);
  const size_t end = EndOfRecords(text);
  if (end > 0 && end + line.size() <= text.size())
    return pending->WriteAt(end, line, err);
  Prune(scope, now_unix, entries);
  entries->push_back(entry);
  return RewriteEntries(path, *entries, err);
}

bool PrepareDirectory(const std::string& path, std::string* err) {
  const size_t slash = LastPathSeparator(path);
  if (slash == std::string::npos || slash == 0) return true;
  return MakePrivateDirectories(path.substr(0, slash), err);
}

}  // namespace

PendingRecord::~PendingRecord() {
  std::string ignored;
  Settle(&ignored);
}

bool PendingRecord::Open(const std::string& path, std::string* err) {
  path_ = path;
  if (!PrepareDirectory(path, err)) return false;
  // The lock lives on a file of its own because the state file itself is
  // sometimes replaced by rename, which would leave a lock behind on the old
  // inode.
  const std::string lock_path = path + ".lock";
  lock_fd_ = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  while (lock_fd_ >= 0 && !LockExclusive(lock_fd_) && errno == EINTR) {
  }
  if (lock_fd_ >= 0) return true;
  *err = "cannot lock the knock state file \"" + lock_path +
         "\": " + strerror(errno);
  return false;
}

bool PendingRecord::WriteAt(size_t offset, const std::string& text,
                            std::string* err) {
  if (file_fd_ < 0) file_fd_ = open(path_.c_str(), O_WRONLY | O_CLOEXEC);
  if (file_fd_ >= 0 &&
      lseek(file_fd_, static_cast<off_t>(offset), SEEK_SET) ==
          static_cast<off_t>(offset) &&
      WriteAllTo(file_fd_, text)) {
    written_ = true;
    return true;
  }
  *err = WriteError(path_, errno);
  return false;
}

// The file kept its size: its data is all a reader needs from the disk.
// The thread owns the file and the lock from here and lets the lock go as
// soon as the record is durable, not when this process is done waiting for
// the port: parallel knocks (a fleet's ssh ProxyCommands) wait milliseconds,
// not the --wait timeout.
void PendingRecord::StartSettling() {
  if (!written_ || syncer_.joinable()) return;
  const int file_fd = file_fd_, lock_fd = lock_fd_;
  file_fd_ = lock_fd_ = -1;
  syncer_ = std::thread([this, file_fd, lock_fd] {
    sync_errno_ = SyncData(file_fd) == 0 ? 0 : errno;
    close(file_fd);
    close(lock_fd);
  });
}

bool PendingRecord::Settle(std::string* err) {
  if (written_) {
    if (!syncer_.joinable()) StartSettling();
    syncer_.join();
    if (sync_errno_ != 0) error_ = WriteError(path_, sync_errno_);
    written_ = false;
  }
  if (file_fd_ >= 0) close(file_fd_);
  file_fd_ = -1;
  // Only now may another knock process take the lock and read the file.
  if (lock_fd_ >= 0) close(lock_fd_);
  lock_fd_ = -1;
  if (error_.empty()) return true;
  *err = error_;
  return false;
}

std::string DefaultClientStatePath() {
  return ClientFilePath(ClientStateDirectory(), "used");
}

bool PeekFreeSlot(const std::string& path, const SlotScope& scope, int slots,
                  int64_t now_unix, int* slot, std::string* err) {
  std::string text;
  std::vector<UsedEntry> entries;
  return ReadEntries(path, &text, &entries, err) &&
         LowestFreeSlot(entries, scope, slots, now_unix, slot, err);
}

bool ReserveFreeSlot(const std::string& path, const SlotScope& scope, int slots,
                     int64_t now_unix, int* slot, PendingRecord* pending,
                     std::string* err) {
  std::string text;
  std::vector<UsedEntry> entries;
  return pending->Open(path, err) && ReadEntries(path, &text, &entries, err) &&
         LowestFreeSlot(entries, scope, slots, now_unix, slot, err) &&
         Record(path, scope, *slot, now_unix, text, &entries, pending, err);
}

bool ReserveFreeSlot(const std::string& path, const SlotScope& scope, int slots,
                     int64_t now_unix, int* slot, std::string* err) {
  PendingRecord pending;
  return ReserveFreeSlot(path, scope, slots, now_unix, slot, &pending, err) &&
         pending.Settle(err);
}

bool ReserveSlot(const std::string& path, const SlotScope& scope, int slot,
                 int64_t now_unix, PendingRecord* pending, std::string* err) {
  std::string text;
  std::vector<UsedEntry> entries;
  if (!pending->Open(path, err) || !ReadEntries(path, &text, &entries, err))
    return false;
  if (IsUsed(entries, scope, slot)) {
    *err = "slot " + std::to_string(slot) + " of " +
           WindowName(scope, now_unix) + " was already sent for " +
           scope.label + "; a sequence is never sent twice (leave out --slot)";
    return false;
  }
  return Record(path, scope, slot, now_unix, text, &entries, pending, err);
}

bool ReserveSlot(const std::string& path, const SlotScope& scope, int slot,
                 int64_t now_unix, std::string* err) {
  PendingRecord pending;
  return ReserveSlot(path, scope, slot, now_unix, &pending, err) &&
         pending.Settle(err);
}

}  // namespace knock
