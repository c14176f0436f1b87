#pragma once
// The used set of knock/v1 section 5: one grant per (client, service,
// window, slot), kept across restarts in the state directory.

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/ip_address.h"
#include "common/x25519_key.h"

namespace knock {

/// Names one sequence independently of configuration order, so that the
/// store survives a reload that reorders clients or services.
struct UsedKey {
  PublicKey client;
  std::string service;
  uint64_t window = 0;
  uint8_t slot = 0;
  bool operator==(const UsedKey& other) const = default;
};

struct UsedKeyHash {
  size_t operator()(const UsedKey& key) const;
};

/// What the store remembers of a used sequence.
struct UsedEntry {
  IpAddress first_source;
  int64_t grant_expires_us = 0;
};

/// What happens to a completed sequence.
enum class UseDecision {
  kFirstUse,   // never seen: grant
  kRefresh,    // same source, grant still live: extend
  kReplay,     // another source, or the same source after its grant ended
  kForgotten,  // a window that began before the end of the newest pruned
               // one: may have been used, and the set no longer knows by whom
};

/// The used set, in memory and in `<state_dir>/used-sequences`.
/// Pruning follows the wall clock, which can step forward and back again;
/// so the set also keeps where the newest window it pruned ended (its
/// floor, a unix time: window numbers change meaning with `step`) and
/// refuses every window that began before it: what it forgot stays
/// refused, even when the clock makes that window acceptable again.
class ReplayStore {
 public:
  /// `path` empty keeps the store in memory only (tests, `knockd replay`).
  explicit ReplayStore(std::string path = "") : path_(std::move(path)) {}

  /// Reads the file if it exists. A corrupt line fails with FILE:LINE.
  bool Load(std::string* err);
  /// Decides, and records a first use or a refresh (with its new expiry).
  /// `step_seconds` is the step `key.window` counts in.
  UseDecision Use(const UsedKey& key, int64_t step_seconds,
                  const IpAddress& source, int64_t now_us, int64_t open_for_us,
                  const UsedEntry** entry);
  /// What the set holds for `key`, if anything.
  std::optional<UsedEntry> Find(const UsedKey& key) const;
  /// Puts `key` back as Find returned it before a Use (nullopt: unused).
  void Restore(const UsedKey& key, const std::optional<UsedEntry>& before);
  /// Drops sequences of windows before `oldest_window` (of `step_seconds`),
  /// and raises the floor to the end of the newest window dropped (never
  /// to a window nothing used).
  void PruneBefore(uint64_t oldest_window, int64_t step_seconds);
  /// The unix time the newest pruned window ended, if any: every window
  /// that began before it is refused.
  std::optional<int64_t> pruned_until_unix() const {
    return pruned_until_unix_;
  }
  /// Writes the file atomically (temporary file, then rename).
  bool Save(std::string* err) const;
  /// The same used set, kept in memory only: the sniffer's copy, whose
  /// writes the firewall helper makes.
  ReplayStore InMemoryCopy() const {
    ReplayStore copy;
    copy.used_ = used_;
    copy.pruned_until_unix_ = pruned_until_unix_;
    return copy;
  }
  size_t size() const { return used_.size(); }

 private:
  std::string path_;
  std::unordered_map<UsedKey, UsedEntry, UsedKeyHash> used_;
  std::optional<int64_t> pruned_until_unix_;
};

}  // namespace knock
