#pragma once
// Forward-secure sealing of the audit log (docs/AUDIT.md): a key chain
// k_{i+1} = BLAKE2b-256(key = k_i, "knock/v1 audit evolve"), one MAC per
// record under k_i, and the writer's state file holding only the current key.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/key_encoding.h"

namespace knock {

/// The key that seals record i (k_i); k_0 is the administrator's
/// verification key. Same size and text form as an X25519 key.
using AuditKey = KeyBytes;
/// A record's seal: BLAKE2b-256 keyed with k_i over the record's body.
using AuditMac = KeyBytes;

/// Replaces k_i by k_{i+1} in place; the old value is gone.
void EvolveAuditKey(AuditKey* key);
/// k_0 evolved `steps` times.
AuditKey AuditKeyAt(const AuditKey& first_key, uint64_t steps);
/// The seal of `body` under `key`.
AuditMac SealAuditBody(const AuditKey& key, std::string_view body);
/// Constant-time comparison of two seals.
bool SameAuditMac(const AuditMac& a, const AuditMac& b);
/// A public name of k_0 (16 hex digits of a keyed hash): tells a wrong key
/// from a forged log without revealing anything about the key.
std::string AuditKeyId(const AuditKey& first_key);

/// The writer's sealing state, rewritten (0600, atomic rename) after every
/// record: the seq the next record gets, the key for it, the seal of the
/// record before it and the key id of the chain. Wipes its key when
/// destroyed.
struct AuditSealState {
  uint64_t seq = 0;
  AuditKey key{};
  AuditMac prev{};
  std::string key_id;

  AuditSealState() = default;
  AuditSealState(const AuditSealState&) = default;
  AuditSealState& operator=(const AuditSealState&) = default;
  ~AuditSealState();
  /// Moves to the next record after one sealed with `mac`; wipes k_seq.
  void Advance(const AuditMac& mac);
};

bool ReadAuditSealState(const std::string& path, AuditSealState* out,
                        std::string* err);
bool WriteAuditSealState(const std::string& path, const AuditSealState& state,
                         std::string* err);
/// `knockd audit init`: makes a random k_0 and the state file for seq 0.
/// Refuses to overwrite an existing state file (that would fork the chain).
bool CreateAuditSealState(const std::string& path, AuditKey* first_key,
                          std::string* err);

}  // namespace knock
