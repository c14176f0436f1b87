#include "common/key_file.h"

#include <sodium.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/file_owner.h"
#include "common/portable_file.h"
#include "common/private_directories.h"
#include "common/private_file_acl.h"
#include "common/unique_fd.h"

namespace knock {

namespace {

// A key line is 44 characters; anything much longer is not a key file.
constexpr size_t kMaxKeyFileBytes = 512;

/// A read buffer for key file contents that wipes itself, so that no
/// return path can leave a copy of a private key behind.
struct SecretBuffer {
  char bytes[kMaxKeyFileBytes + 1];
  size_t size = 0;
  ~SecretBuffer() { sodium_memzero(bytes, sizeof bytes); }
};

std::string ModeText(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

bool Fail(const std::string& path, const std::string& message,
          std::string* err) {
  *err = path + ": " + message;
  return false;
}

// ssh's rule: no access at all for group or others.
[[maybe_unused]] bool CheckPrivateMode(const std::string& path, mode_t mode,
                                       std::string* err) {
  if ((mode & 077) == 0) return true;
  const char* what = (mode & 044) != 0 ? "readable" : "accessible";
  return Fail(path,
              std::string("private key file is ") + what + " by others (mode " +
                  ModeText(mode) + "); run: chmod 600 " + path,
              err);
}

// Reads the whole (small) file into `buffer` through an open descriptor.
bool ReadSmallFile(int fd, const std::string& path, SecretBuffer* buffer,
                   std::string* err) {
  while (buffer->size <= kMaxKeyFileBytes) {
    ssize_t got = read(fd, buffer->bytes + buffer->size,
                       kMaxKeyFileBytes + 1 - buffer->size);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0)
      return Fail(
          path, std::string("cannot read (") + std::strerror(errno) + ")", err);
    if (got == 0) return true;
    buffer->size += static_cast<size_t>(got);
  }
  return Fail(path,
              "not a key file (larger than " +
                  std::to_string(kMaxKeyFileBytes) + " bytes)",
              err);
}

// "FILE:LINE:1: message", for problems with what the file says.
bool FailAtLine(const std::string& path, int line, const std::string& message,
                std::string* err) {
  *err = path + ":" + std::to_string(line) + ":1: " + message;
  return false;
}

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// The first line without its line ending and trailing blanks; refuses
// anything but blank space after it, since a second key would be ambiguous.
bool KeyLine(const std::string& path, const SecretBuffer& buffer,
             std::string_view* line, std::string* err) {
  std::string_view all(buffer.bytes, buffer.size);
  size_t newline = all.find('\n');
  std::string_view first = all.substr(0, newline);
  while (!first.empty() && IsBlank(first.back())) first.remove_suffix(1);
  if (newline != std::string_view::npos) {
    int line_number = 2;
    for (char c : all.substr(newline + 1)) {
      if (c == '\n') ++line_number;
      if (!IsBlank(c) && c != '\n') {
        return FailAtLine(path, line_number,
                          "a key file holds one key on one line", err);
      }
    }
  }
  if (first.empty()) {
    return FailAtLine(
        path, 1, "empty key file (expected a key, 44 base64 characters)", err);
  }
  *line = first;
  return true;
}

bool OpenForReading(const std::string& path, UniqueFd* fd, struct stat* info,
                    std::string* err) {
  // O_NONBLOCK: a FIFO put where a key belongs must not hang the daemon.
  fd->Reset(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!fd->valid()) {
    return Fail(path, std::string("cannot open (") + std::strerror(errno) + ")",
                err);
  }
  if (fstat(fd->get(), info) != 0 || !S_ISREG(info->st_mode))
    return Fail(path, "not a regular file", err);
  return true;
}

bool WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t put = write(fd, data, size);
    if (put < 0 && errno == EINTR) continue;
    if (put <= 0) return false;
    data += put;
    size -= static_cast<size_t>(put);
  }
  return true;
}

bool MakeParentDirectories(const std::string& path, std::string* err) {
  size_t slash = LastPathSeparator(path);
  if (slash == std::string::npos || slash == 0) return true;
  return MakePrivateDirectories(path.substr(0, slash), err);
}

}  // namespace

bool ReadPrivateKeyFile(const std::string& path, PrivateKey* out,
                        std::string* err) {
#ifdef _WIN32
  // Owners are SIDs there, and the access list check covers them.
  return ReadPrivateKeyFile(path, OwnerId{0}, out, err);
#else
  return ReadPrivateKeyFile(path, geteuid(), out, err);
#endif
}

bool ReadPrivateKeyFile(const std::string& path, OwnerId account,
                        PrivateKey* out, std::string* err) {
  UniqueFd fd;
  struct stat info;
  if (!OpenForReading(path, &fd, &info, err)) return false;
    // Owner and mode come from the descriptor we read, not from a second
    // lookup of the path that could see a different file.
#ifdef _WIN32
  // Mode bits and uids mean nothing on Windows; the access list decides.
  (void)account;
  if (!CheckPrivateFileAcl(fd.get(), path, err))
#else
  if (!CheckFileOwner(path, "private key file", info.st_uid, account, err) ||
      !CheckPrivateMode(path, info.st_mode, err))
#endif
    return false;
  SecretBuffer buffer;
  bool read_ok = ReadSmallFile(fd.get(), path, &buffer, err);
  fd.Reset();
  std::string_view line;
  if (!read_ok || !KeyLine(path, buffer, &line, err)) return false;
  std::string key_err;
  if (!PrivateKey::FromText(line, out, &key_err)) {
    return FailAtLine(path, 1, key_err, err);
  }
  return true;
}

bool WritePrivateKeyFile(const std::string& path, const PrivateKey& key,
                         std::string* err) {
  if (!MakeParentDirectories(path, err)) return false;
#ifdef _WIN32
  UniqueFd fd(CreatePrivateFile(path));
#else
  UniqueFd fd(open(path.c_str(),
                   O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
#endif
  if (!fd.valid() && errno == EEXIST) {
    return Fail(path, "already exists; not overwriting a private key", err);
  }
  if (!fd.valid()) {
    return Fail(
        path, std::string("cannot create (") + std::strerror(errno) + ")", err);
  }
  // The umask may only remove bits; this makes the mode exactly 0600.
  fchmod(fd.get(), 0600);
  std::string text = key.ToTextForKeyFile() + "\n";
  bool ok =
      WriteAll(fd.get(), text.data(), text.size()) && fsync(fd.get()) == 0;
  int write_errno = errno;
  sodium_memzero(text.data(), text.size());
  if (!fd.Close()) ok = false;
  if (!ok) {
    unlink(path.c_str());
    return Fail(
        path, std::string("cannot write (") + std::strerror(write_errno) + ")",
        err);
  }
  return true;
}

bool ReadPublicKeyFile(const std::string& path, PublicKey* out,
                       std::string* err) {
  UniqueFd fd;
  struct stat info;
  if (!OpenForReading(path, &fd, &info, err)) return false;
  SecretBuffer buffer;
  bool read_ok = ReadSmallFile(fd.get(), path, &buffer, err);
  fd.Reset();
  std::string_view line;
  if (!read_ok || !KeyLine(path, buffer, &line, err)) return false;
  std::string key_err;
  if (!ParsePublicKey(line, out, &key_err)) {
    return FailAtLine(path, 1, key_err, err);
  }
  return true;
}

}  // namespace knock
