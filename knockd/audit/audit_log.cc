#include "knockd/audit/audit_log.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>

namespace knock {

namespace {

constexpr mode_t kLogFileMode = 0640;
constexpr mode_t kLogDirMode = 0750;
constexpr mode_t kLockFileMode = 0600;
// Records are well under 1 KiB; a crash leaves at most one partial record.
constexpr size_t kTailBytes = 16384;

std::string Errno(const std::string& path, const std::string& what) {
  return path + ": " + what + ": " + strerror(errno);
}

std::string ParentDirectory(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

bool ReadAt(int fd, uint64_t offset, size_t bytes, std::string* out) {
  out->resize(bytes);
  size_t done = 0;
  while (done < bytes) {
    const ssize_t n =
        pread(fd, out->data() + done, bytes - done, offset + done);
    if (n <= 0) return false;
    done += n;
  }
  return true;
}

}  // namespace

bool AuditLog::Open(const std::string& log_path, const std::string& key_path,
                    std::string* err) {
  log_path_ = log_path;
  key_path_ = key_path;
  AuditSealState state;
  if (!ReadAuditSealState(key_path_, &state, err)) {
    *err += " (create it with: knockd audit init)";
    return false;
  }
  const std::string lock_path = key_path_ + ".lock";
  lock_fd_.Reset(
      open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, kLockFileMode));
  if (!lock_fd_.valid()) {
    *err = Errno(lock_path, "cannot open the audit lock");
    return false;
  }
  const std::string dir = ParentDirectory(log_path_);
  if (mkdir(dir.c_str(), kLogDirMode) != 0 && errno != EEXIST) {
    *err = Errno(dir, "cannot create the audit log directory");
    return false;
  }
  if (!Lock(err)) return false;
  bool ok = OpenFile(err) && ReadAuditSealState(key_path_, &state, err);
  ok = ok && Repair(&state, 0, err);
  Unlock();
  return ok;
}

bool AuditLog::Lock(std::string* err) {
  while (flock(lock_fd_.get(), LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    *err = Errno(key_path_ + ".lock", "cannot lock");
    return false;
  }
  return true;
}

void AuditLog::Unlock() { flock(lock_fd_.get(), LOCK_UN); }

bool AuditLog::OpenFile(std::string* err) {
  log_fd_.Reset(open(log_path_.c_str(),
                     O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, kLogFileMode));
  if (!log_fd_.valid()) {
    *err = Errno(log_path_, "cannot open the audit log");
    return false;
  }
  return true;
}

bool AuditLog::ReopenIfMoved(std::string* err) {
  struct stat open_file, named_file;
  if (fstat(log_fd_.get(), &open_file) != 0) {
    *err = Errno(log_path_, "cannot stat the audit log");
    return false;
  }
  // logrotate renamed it (and maybe made a new one): write to the name.
  if (stat(log_path_.c_str(), &named_file) == 0 &&
      named_file.st_dev == open_file.st_dev &&
      named_file.st_ino == open_file.st_ino)
    return true;
  return OpenFile(err);
}

bool AuditLog::FileSize(uint64_t* size, std::string* err) {
  struct stat info;
  if (fstat(log_fd_.get(), &info) != 0) {
    *err = Errno(log_path_, "cannot stat the audit log");
    return false;
  }
  *size = info.st_size;
  return true;
}

bool AuditLog::Repair(AuditSealState* state, int64_t time_us,
                      std::string* err) {
  uint64_t size = 0;
  if (!FileSize(&size, err)) return false;
  if (size == 0) return true;
  // The descriptor is write-only: read the tail through the name.
  const UniqueFd fd(open(log_path_.c_str(), O_RDONLY | O_CLOEXEC));
  std::string tail;
  const size_t bytes = size < kTailBytes ? size : kTailBytes;
  const bool read_ok =
      fd.valid() && ReadAt(fd.get(), size - bytes, bytes, &tail);
  if (!read_ok) {
    *err = Errno(log_path_, "cannot read the audit log's end");
    return false;
  }
  // Complete lines a batch wrote before a crash come first; a torn last
  // line after them is sealed over below.
  const size_t newline = tail.rfind('\n');
  const std::string complete =
      newline == std::string::npos ? "" : tail.substr(0, newline);
  if (!CatchUp(complete, state, err)) return false;
  if (tail.back() == '\n') return true;
  const std::string fragment =
      newline == std::string::npos ? tail : tail.substr(newline + 1);
  if (!WriteBytes("\n", err)) return false;
  AuditRecord recovered{"recovered", time_us, {}};
  if (recovered.time_us == 0) {
    timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    recovered.time_us = int64_t{now.tv_sec} * 1000000 + now.tv_nsec / 1000;
  }
  recovered.fields["fragment_bytes"] = fragment.size();
  recovered.fields["fragment_hash"] = AuditFragmentHash(fragment);
  notes_.push_back(log_path_ + ": an incomplete last line of " +
                   std::to_string(fragment.size()) +
                   " bytes (a crash while writing); sealed it as recovered "
                   "and continued the chain at record " +
                   std::to_string(state->seq));
  return WriteSealed(recovered, state, err);
}

bool AuditLog::CatchUp(const std::string& tail, AuditSealState* state,
                       std::string* err) {
  uint64_t caught_up = 0;
  size_t start = 0;
  while (start < tail.size()) {
    size_t end = tail.find('\n', start);
    if (end == std::string::npos) end = tail.size();
    AuditLine line;
    std::string why;
    // Lines before the state's record (or cut by the tail's start) are
    // skipped; a line that does not chain on is not ours to judge: the
    // verifier reports a bad log; the writer goes on.
    if (ParseAuditLine(tail.substr(start, end - start), &line, &why) &&
        line.seq == state->seq && SameAuditMac(line.prev, state->prev) &&
        AuditLineVerifies(line, state->key)) {
      // Written but not recorded in the state (a crash between).
      state->Advance(line.mac);
      ++caught_up;
    }
    start = end + 1;
  }
  if (caught_up == 0) return true;
  notes_.push_back(key_path_ + ": " +
                   (caught_up == 1 ? std::string("one record")
                                   : std::to_string(caught_up) + " records") +
                   " behind the log (a crash between the two writes); caught "
                   "up to record " +
                   std::to_string(state->seq));
  return WriteAuditSealState(key_path_, *state, err);
}

bool AuditLog::WriteBytes(const std::string& bytes, std::string* err) {
  const ssize_t n = write(log_fd_.get(), bytes.data(), bytes.size());
  if (n == static_cast<ssize_t>(bytes.size())) return true;
  *err = n < 0 ? Errno(log_path_, "cannot write the audit log")
               : log_path_ + ": short write to the audit log (" +
                     std::to_string(n) + " of " + std::to_string(bytes.size()) +
                     " bytes)";
  return false;
}

bool AuditLog::WriteSealed(const AuditRecord& record, AuditSealState* state,
                           std::string* err) {
  AuditMac mac;
  const std::string line = SealAuditRecord(record, *state, &mac);
  if (!WriteBytes(line, err)) return false;
  state->Advance(mac);
  return WriteAuditSealState(key_path_, *state, err);
}

bool AuditLog::Append(const AuditRecord& record, std::string* err) {
  return AppendAll({record}, err);
}

std::string AuditLog::SealAll(const std::vector<AuditRecord>& records,
                              AuditSealState* state) {
  std::string lines;
  for (const AuditRecord& record : records) {
    AuditMac mac;
    lines += SealAuditRecord(record, *state, &mac);
    state->Advance(mac);
  }
  return lines;
}

bool AuditLog::AppendAll(const std::vector<AuditRecord>& records,
                         std::string* err) {
  if (!log_fd_.valid()) {
    *err = "the audit log is not open";
    return false;
  }
  if (records.empty()) return true;
  if (!Lock(err)) return false;
  AuditSealState state;
  uint64_t size = 0;
  const int64_t time_us = records.front().time_us;
  bool ok = ReadAuditSealState(key_path_, &state, err) && ReopenIfMoved(err) &&
            Repair(&state, time_us, err) && FileSize(&size, err);
  if (ok && max_bytes_ > 0 && size >= max_bytes_) {
    ok = RotateLocked(err) && FileSize(&size, err);
  }
  std::vector<AuditRecord> batch;
  if (ok && size == 0) {
    AuditRecord header{"file", time_us, {}};
    header.fields["key_id"] = state.key_id;
    if (state.seq > 0) header.fields["continues"] = state.seq - 1;
    batch.push_back(std::move(header));
  }
  batch.insert(batch.end(), records.begin(), records.end());
  // The lines go first, the state after: a crash between leaves the state
  // behind (caught up later), never ahead of the log (a hole in the chain).
  ok = ok && WriteBytes(SealAll(batch, &state), err) &&
       WriteAuditSealState(key_path_, state, err);
  Unlock();
  return ok;
}

bool AuditLog::Rotate(std::string* err) {
  if (!log_fd_.valid()) {
    *err = "the audit log is not open";
    return false;
  }
  if (!Lock(err)) return false;
  const bool ok = ReopenIfMoved(err) && RotateLocked(err);
  Unlock();
  return ok;
}

bool AuditLog::RotateLocked(std::string* err) {
  uint64_t size = 0;
  if (!FileSize(&size, err)) return false;
  if (size == 0) return true;
  const UniqueFd fd(open(log_path_.c_str(), O_RDONLY | O_CLOEXEC));
  std::string head;
  const size_t bytes = size < kTailBytes ? size : kTailBytes;
  const bool read_ok = fd.valid() && ReadAt(fd.get(), 0, bytes, &head);
  AuditLine first;
  std::string why;
  if (!read_ok ||
      !ParseAuditLine(head.substr(0, head.find('\n')), &first, &why)) {
    *err = log_path_ + ": cannot rotate: the first line is not a record";
    return false;
  }
  char suffix[32];
  snprintf(suffix, sizeof suffix, ".%012" PRIu64, first.seq);
  const std::string rotated = log_path_ + suffix;
  struct stat info;
  if (lstat(rotated.c_str(), &info) == 0) {
    *err = rotated + ": exists; not rotating over it";
    return false;
  }
  if (rename(log_path_.c_str(), rotated.c_str()) != 0) {
    *err = Errno(rotated, "cannot rotate the audit log");
    return false;
  }
  return OpenFile(err);
}

std::vector<std::string> AuditLog::TakeNotes() {
  std::vector<std::string> notes;
  notes.swap(notes_);
  return notes;
}

}  // namespace knock
