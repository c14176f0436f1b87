#include "knock/lib/client_state.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>

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
    "# server-public-key service step-seconds window slot check\n";
// Files this client writes say so; older ones had no check on any line.
constexpr char kCheckedMark[] = " slot check\n";

// The slot of a record that stands for every slot of its scope: what a
// damaged record may have been ("*" in the file).
constexpr int kAllSlots = -1;
// The scope of a record that stands for every scope whose window began by
// its `window`, a Unix time ("*" for key and service): a damaged record
// whose scope cannot be read may have been any sequence sent until then.
constexpr char kAnyScope[] = "*";
// Such a record is kept this long: longer than any window lasts.
constexpr int64_t kAnyScopeKeepSeconds = 86400;
// A record's check: the first bytes of its BLAKE2b, in hex.
constexpr size_t kCheckBytes = 4;

/// One line of the state file: a sequence this user has sent.
struct UsedEntry {
  std::string server_key;
  std::string service;
  int64_t step_seconds = 0;
  uint64_t window = 0;
  int slot = 0;
};

std::string EntryFields(const UsedEntry& e) {
  return e.server_key + " " + e.service + " " + std::to_string(e.step_seconds) +
         " " + std::to_string(e.window) + " " +
         (e.slot == kAllSlots ? std::string("*") : std::to_string(e.slot));
}

// A torn write (a short write on a full disk, a crash mid-write) leaves a
// prefix of the line; the check tells it from a whole record, even where
// the prefix still reads as one ("... 12" cut to "... 1").
std::string Check(const std::string& fields) {
  unsigned char hash[crypto_generichash_BYTES_MIN];
  crypto_generichash(hash, sizeof hash,
                     reinterpret_cast<const unsigned char*>(fields.data()),
                     fields.size(), nullptr, 0);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text;
  for (size_t i = 0; i < kCheckBytes; ++i) {
    text += kHex[hash[i] >> 4];
    text += kHex[hash[i] & 15];
  }
  return text;
}

bool ParseFields(const std::vector<std::string>& fields, UsedEntry* entry) {
  if (fields.size() != 5) return false;
  entry->server_key = fields[0];
  entry->service = fields[1];
  std::istringstream step(fields[2]), window(fields[3]), slot(fields[4]);
  std::string extra;
  if (!(step >> entry->step_seconds) || (step >> extra) ||
      !(window >> entry->window) || (window >> extra))
    return false;
  if (fields[4] == "*") {
    entry->slot = kAllSlots;
  } else if (!(slot >> entry->slot) || (slot >> extra) || entry->slot < 0 ||
             entry->slot > 255) {
    return false;
  }
  return entry->step_seconds > 0;
}

std::vector<std::string> Words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> words;
  for (std::string word; in >> word;) words.push_back(word);
  return words;
}

bool HasChecks(const std::string& text) {
  return text.find(kCheckedMark) != std::string::npos;
}

// A line with its check (6 words), or, in a file an older client wrote, one
// without (5 words, no "*"). In a checked file a line of 5 words is a torn
// one: "... 12 check" cut to "... 1" must not read as slot 1.
bool ParseEntry(const std::string& line, bool checked, UsedEntry* entry) {
  std::vector<std::string> words = Words(line);
  if (words.size() == 6) {
    const std::string check = words.back();
    words.pop_back();
    return ParseFields(words, entry) && check.size() == kCheckBytes * 2 &&
           sodium_memcmp(check.data(), Check(EntryFields(*entry)).data(),
                         check.size()) == 0;
  }
  return !checked && words.size() == 5 && words[4] != "*" &&
         ParseFields(words, entry);
}

// What a damaged line may have been: every sequence sent until `now_unix`,
// and, where its scope survived whole (the four words before the slot,
// each followed by more), every slot of that scope too (a window pinned
// ahead with --at).
void SalvageDamaged(const std::string& line, int64_t now_unix,
                    std::vector<UsedEntry>* entries) {
  entries->push_back(
      {kAnyScope, kAnyScope, 1, static_cast<uint64_t>(now_unix), kAllSlots});
  std::vector<std::string> words = Words(line);
  if (words.size() < 5) return;
  words.resize(4);
  words.push_back("*");
  UsedEntry scope;
  if (ParseFields(words, &scope) && scope.server_key != kAnyScope)
    entries->push_back(scope);
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

// Counts the damaged lines: each is replaced by what it may have been
// (SalvageDamaged), never skipped, so that no slot it may have sent is
// handed out again, and never an error, so that it locks nobody out.
int ParseEntries(const std::string& text, int64_t now_unix,
                 std::vector<UsedEntry>* entries) {
  entries->clear();
  int damaged = 0;
  const bool checked = HasChecks(text);
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    UsedEntry entry;
    if (ParseEntry(line, checked, &entry)) {
      entries->push_back(entry);
    } else {
      ++damaged;
      SalvageDamaged(line, now_unix, entries);
    }
  }
  return damaged;
}

bool ReadEntries(const std::string& path, int64_t now_unix, std::string* text,
                 std::vector<UsedEntry>* entries, int* damaged,
                 std::string* err) {
  if (!ReadText(path, text, err)) return false;
  *damaged = ParseEntries(*text, now_unix, entries);
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

std::string EntryLine(const UsedEntry& e) {
  const std::string fields = EntryFields(e);
  return fields + " " + Check(fields) + "\n";
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
  if (entry.server_key == kAnyScope)
    return static_cast<int64_t>(scope.window) * scope.step_seconds <=
           static_cast<int64_t>(entry.window);
  return entry.server_key == scope.server_key.ToText() &&
         entry.service == scope.service &&
         entry.step_seconds == scope.step_seconds &&
         entry.window == scope.window;
}

bool IsUsed(const std::vector<UsedEntry>& entries, const SlotScope& scope,
            int slot) {
  for (const UsedEntry& entry : entries)
    if (InScope(entry, scope) &&
        (entry.slot == slot || entry.slot == kAllSlots))
      return true;
  return false;
}

// True when a damaged record stands for every slot of `scope`.
bool BlockedByDamage(const std::vector<UsedEntry>& entries,
                     const SlotScope& scope) {
  for (const UsedEntry& entry : entries)
    if (InScope(entry, scope) && entry.slot == kAllSlots) return true;
  return false;
}

// Entries of `scope` itself stay even when its window is old: a window
// pinned with --at must not give out the same slot twice either.
void Prune(const SlotScope& scope, int64_t now_unix,
           std::vector<UsedEntry>* entries) {
  std::erase_if(*entries, [&scope, now_unix](const UsedEntry& entry) {
    if (entry.server_key == kAnyScope)
      return static_cast<int64_t>(entry.window) + kAnyScopeKeepSeconds <
             now_unix;
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

std::string DamageMessage(const std::string& path, const SlotScope& scope,
                          int64_t now_unix) {
  return "the knock state file \"" + path +
         "\" held a damaged record (an interrupted write), which may have "
         "sent any slot of " +
         WindowName(scope, now_unix) + " for " + scope.label + "; " +
         WhatToDo(scope, now_unix);
}

bool LowestFreeSlot(const std::string& path,
                    const std::vector<UsedEntry>& entries,
                    const SlotScope& scope, int slots, int64_t now_unix,
                    int* slot, std::string* err) {
  if (BlockedByDamage(entries, scope)) {
    *err = DamageMessage(path, scope, now_unix);
    return false;
  }
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
  // An older client's file is rewritten first: it has no checks to tell a
  // torn record by.
  if (end > 0 && HasChecks(text) && end + line.size() <= text.size())
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

// Under the lock: reads the file and, if it holds damaged lines, replaces
// it at once by one where each is written as what it may have been, so
// that the next knock reads a whole file and the block lasts only as long
// as the window it covers.
bool ReadLocked(const std::string& path, int64_t now_unix, std::string* text,
                std::vector<UsedEntry>* entries, std::string* err) {
  int damaged = 0;
  if (!ReadEntries(path, now_unix, text, entries, &damaged, err)) return false;
  if (damaged == 0) return true;
  return RewriteEntries(path, *entries, err) &&
         ReadEntries(path, now_unix, text, entries, &damaged, err);
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
  // Peeking repairs nothing, so a damaged line is dated by the file's last
  // write rather than by now, which would block every window it is asked
  // about. (A reservation dates it by now: after a power cut the time of
  // the last write may not have reached the disk.)
  struct stat info {};
  const int64_t written_unix =
      stat(path.c_str(), &info) == 0
          ? std::min<int64_t>(now_unix, static_cast<int64_t>(info.st_mtime))
          : now_unix;
  std::string text;
  std::vector<UsedEntry> entries;
  int damaged = 0;
  return ReadEntries(path, written_unix, &text, &entries, &damaged, err) &&
         LowestFreeSlot(path, entries, scope, slots, now_unix, slot, err);
}

bool ReserveFreeSlot(const std::string& path, const SlotScope& scope, int slots,
                     int64_t now_unix, int* slot, PendingRecord* pending,
                     std::string* err) {
  std::string text;
  std::vector<UsedEntry> entries;
  return pending->Open(path, err) &&
         ReadLocked(path, now_unix, &text, &entries, err) &&
         LowestFreeSlot(path, entries, scope, slots, now_unix, slot, err) &&
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
  if (!pending->Open(path, err) ||
      !ReadLocked(path, now_unix, &text, &entries, err))
    return false;
  if (BlockedByDamage(entries, scope)) {
    *err = DamageMessage(path, scope, now_unix);
    return false;
  }
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
