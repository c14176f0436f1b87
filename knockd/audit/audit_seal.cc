#include "knockd/audit/audit_seal.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "common/exclusive_create.h"

namespace knock {

namespace {

constexpr char kEvolveLabel[] = "knock/v1 audit evolve";
constexpr char kKeyIdLabel[] = "knock/v1 audit key id";
constexpr char kStateHeader[] = "knock/v1 audit seal";
constexpr size_t kKeyIdBytes = 8;
constexpr mode_t kStateFileMode = 0600;

bool Fail(const std::string& path, const std::string& why, std::string* err) {
  *err = path + ": " + why;
  return false;
}

bool ReadWholeFile(const std::string& path, std::string* out,
                   std::string* err) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return Fail(path, std::string("cannot read: ") + strerror(errno), err);
  char buffer[512];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof buffer)) > 0) out->append(buffer, n);
  const int read_errno = errno;
  sodium_memzero(buffer, sizeof buffer);
  close(fd);
  if (n < 0)
    return Fail(path, std::string("cannot read: ") + strerror(read_errno), err);
  return true;
}

bool ParseStateLine(const std::string& line, const std::string& name,
                    std::string* value) {
  if (line.compare(0, name.size() + 1, name + " ") != 0) return false;
  *value = line.substr(name.size() + 1);
  return true;
}

bool ParseState(const std::string& path, const std::string& text,
                AuditSealState* out, std::string* err) {
  std::istringstream lines(text);
  std::string line, seq, key, prev;
  const char* bad = nullptr;
  if (!std::getline(lines, line) || line != kStateHeader)
    bad = "not an audit sealing state (first line)";
  else if (!std::getline(lines, line) || !ParseStateLine(line, "seq", &seq) ||
           seq.empty() ||
           seq.find_first_not_of("0123456789") != std::string::npos)
    bad = "bad \"seq\" line";
  else if (!std::getline(lines, line) || !ParseStateLine(line, "key", &key))
    bad = "bad \"key\" line";
  else if (!std::getline(lines, line) || !ParseStateLine(line, "prev", &prev))
    bad = "bad \"prev\" line";
  else if (!std::getline(lines, line) ||
           !ParseStateLine(line, "key_id", &out->key_id) ||
           out->key_id.size() != 2 * kKeyIdBytes)
    bad = "bad \"key_id\" line";
  std::string key_err;
  if (bad == nullptr && (!DecodeKey(key, &out->key, &key_err, true) ||
                         !DecodeKey(prev, &out->prev, &key_err)))
    bad = "bad key or seal encoding";
  sodium_memzero(key.data(), key.size());
  sodium_memzero(line.data(), line.size());
  if (bad != nullptr) return Fail(path, bad, err);
  out->seq = std::stoull(seq);
  return true;
}

}  // namespace

void EvolveAuditKey(AuditKey* key) {
  AuditKey next;
  crypto_generichash(next.data(), next.size(),
                     reinterpret_cast<const unsigned char*>(kEvolveLabel),
                     sizeof kEvolveLabel - 1, key->data(), key->size());
  *key = next;
  sodium_memzero(next.data(), next.size());
}

AuditKey AuditKeyAt(const AuditKey& first_key, uint64_t steps) {
  AuditKey key = first_key;
  for (uint64_t i = 0; i < steps; ++i) EvolveAuditKey(&key);
  return key;
}

AuditMac SealAuditBody(const AuditKey& key, std::string_view body) {
  AuditMac mac;
  crypto_generichash(mac.data(), mac.size(),
                     reinterpret_cast<const unsigned char*>(body.data()),
                     body.size(), key.data(), key.size());
  return mac;
}

bool SameAuditMac(const AuditMac& a, const AuditMac& b) {
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string AuditKeyId(const AuditKey& first_key) {
  unsigned char id[kKeyIdBytes];
  crypto_generichash(
      id, sizeof id, reinterpret_cast<const unsigned char*>(kKeyIdLabel),
      sizeof kKeyIdLabel - 1, first_key.data(), first_key.size());
  char hex[2 * kKeyIdBytes + 1];
  sodium_bin2hex(hex, sizeof hex, id, sizeof id);
  return hex;
}

AuditSealState::~AuditSealState() { sodium_memzero(key.data(), key.size()); }

void AuditSealState::Advance(const AuditMac& mac) {
  EvolveAuditKey(&key);
  prev = mac;
  ++seq;
}

bool ReadAuditSealState(const std::string& path, AuditSealState* out,
                        std::string* err) {
  std::string text;
  if (!ReadWholeFile(path, &text, err)) return false;
  const bool ok = ParseState(path, text, out, err);
  sodium_memzero(text.data(), text.size());
  return ok;
}

bool WriteAuditSealState(const std::string& path, const AuditSealState& state,
                         std::string* err) {
  std::string text = std::string(kStateHeader) + "\nseq " +
                     std::to_string(state.seq) + "\nkey " +
                     EncodeKey(state.key) + "\nprev " + EncodeKey(state.prev) +
                     "\nkey_id " + state.key_id + "\n";
  const std::string temporary = path + ".tmp";
  UniqueFd fd = CreateExclusive(temporary, kStateFileMode);
  bool ok = fd.valid();
  if (ok) {
    ok = write(fd.get(), text.data(), text.size()) ==
             static_cast<ssize_t>(text.size()) &&
         fsync(fd.get()) == 0;
    ok = fd.Close() && ok;
  }
  sodium_memzero(text.data(), text.size());
  // The old file's key is k_{i-1}: replacing it is what makes sealing
  // forward-secure, so a failed rename is an error, not a warning.
  if (!ok || rename(temporary.c_str(), path.c_str()) != 0) {
    const std::string why = strerror(errno);
    unlink(temporary.c_str());
    return Fail(path, "cannot write the audit sealing state: " + why, err);
  }
  return true;
}

bool CreateAuditSealState(const std::string& path, AuditKey* first_key,
                          std::string* err) {
  struct stat info;
  if (lstat(path.c_str(), &info) == 0)
    return Fail(path,
                "exists: the audit log is already sealed under a key (remove "
                "it and the log to start a new chain)",
                err);
  AuditSealState state;
  randombytes_buf(state.key.data(), state.key.size());
  state.key_id = AuditKeyId(state.key);
  if (!WriteAuditSealState(path, state, err)) return false;
  *first_key = state.key;
  return true;
}

}  // namespace knock
